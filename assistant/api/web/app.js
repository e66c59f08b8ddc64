// Web chat for Asisten Kota Kreatif: plain JS, no build step, no external resources.
// Answers stream from POST /v1/ask (stream=true) as Server-Sent Events read with fetch + ReadableStream.
// All document and user text is rendered with textContent / DOM nodes, never innerHTML.
"use strict";

(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const chat = $("#chat");
  const form = $("#ask-form");
  const input = $("#question");
  const sendBtn = $("#send");
  const statusEl = $("#status");
  const keyInput = $("#api-key");
  const welcome = $("#welcome");
  let conversationId = sessionStorage.getItem("kk.conversation") || null;
  let busy = false;
  let counter = 0;

  keyInput.value = sessionStorage.getItem("kk.apiKey") || "";
  keyInput.addEventListener("change", () => sessionStorage.setItem("kk.apiKey", keyInput.value.trim()));

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = keyInput.value.trim();
    if (key) h["X-API-Key"] = key;
    return h;
  }

  async function errorMessage(resp) {
    try {
      const body = await resp.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) { /* not JSON */ }
    return `Terjadi kesalahan (HTTP ${resp.status}).`;
  }

  function parseFrame(frame) {
    let event = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? "" : line.slice(i + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length) return null;
    try { return { event, data: JSON.parse(data.join("\n")) }; } catch (_) { return null; }
  }

  async function* sseEvents(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done }).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const ev = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (ev) yield ev;
      }
      if (done) break;
    }
    const last = parseFrame(buffer);
    if (last) yield last;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function scrollDown() { window.scrollTo({ top: document.body.scrollHeight, behavior: "smooth" }); }

  function addUser(text) {
    const node = $("#tpl-user").content.firstElementChild.cloneNode(true);
    $(".text", node).textContent = text;
    chat.appendChild(node);
  }

  function addBot() {
    const node = $("#tpl-bot").content.firstElementChild.cloneNode(true);
    node.id = `jawaban-${++counter}`;
    chat.appendChild(node);
    return node;
  }

  function safeUrl(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function sourceCard(msg, c) {
    const li = el("li");
    const card = el("details", "card");
    card.id = `${msg.id}-sumber-${c.n}`;
    const summary = el("summary");
    summary.append(el("span", "num", `[${c.n}]`));
    const head = el("span");
    head.append(el("span", "title", c.title || c.doc_id));
    if (c.section) head.append(document.createTextNode(" "), el("span", "section", `› ${c.section}`));
    summary.append(head);
    const body = el("div", "body");
    if (c.quote) body.append(el("blockquote", null, `“${c.quote}”`));
    const meta = el("p");
    if (c.date) meta.append(el("span", "date", `Tanggal: ${c.date}`));
    const url = safeUrl(c.url);
    if (url) {
      if (c.date) meta.append(document.createTextNode(" · "));
      const a = el("a", null, url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      meta.append(a);
    }
    if (meta.childNodes.length) body.append(meta);
    card.append(summary, body);
    li.append(card);
    return li;
  }

  function openSource(msg, n) {
    const card = document.getElementById(`${msg.id}-sumber-${n}`);
    if (!card) return;
    card.open = true;
    card.classList.add("flash");
    card.scrollIntoView({ behavior: "smooth", block: "nearest" });
    setTimeout(() => card.classList.remove("flash"), 1200);
  }

  // Final rendering: "[n]" markers become buttons that open source card n.
  function renderAnswer(msg, text, citations) {
    const target = $(".text", msg);
    target.textContent = "";
    const known = new Set(citations.map((c) => String(c.n)));
    const parts = text.split(/\[(\d+)\]/);
    parts.forEach((part, i) => {
      if (i % 2 === 0) {
        if (part) target.append(document.createTextNode(part));
      } else if (known.has(part)) {
        const b = el("button", "cite", part);
        b.type = "button";
        b.title = `Lihat sumber ${part}`;
        b.addEventListener("click", () => openSource(msg, part));
        target.append(b);
      } else {
        target.append(document.createTextNode(`[${part}]`));
      }
    });
  }

  function showSources(msg, citations) {
    const list = $(".sources", msg);
    list.textContent = "";
    for (const c of citations) list.append(sourceCard(msg, c));
  }

  function plainCopy(text, citations) {
    const lines = citations.map((c) => {
      const bits = [`[${c.n}] ${c.title}`];
      if (c.section) bits.push(`— ${c.section}`);
      if (c.date) bits.push(`(${c.date})`);
      if (c.url) bits.push(c.url);
      return bits.join(" ");
    });
    return lines.length ? `${text}\n\nSumber:\n${lines.join("\n")}` : text;
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    const area = el("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) throw new Error("copy failed");
  }

  function enableActions(msg, final) {
    const actions = $(".actions", msg);
    const note = $(".note", actions);
    actions.hidden = false;
    const buttons = [$(".fb.up", actions), $(".fb.down", actions)];
    buttons.forEach((btn) => btn.addEventListener("click", async () => {
      const rating = btn.classList.contains("up") ? "up" : "down";
      buttons.forEach((b) => { b.disabled = true; });
      note.textContent = "Mengirim…";
      try {
        const resp = await fetch("/v1/feedback", {
          method: "POST", headers: headers(), body: JSON.stringify({ answer_id: final.answer_id, rating }),
        });
        if (!resp.ok) throw new Error(await errorMessage(resp));
        btn.classList.add("chosen");
        note.textContent = "Terima kasih atas masukan Anda!";
      } catch (err) {
        buttons.forEach((b) => { b.disabled = false; });
        note.textContent = err.message || "Masukan gagal dikirim.";
      }
    }));
    $(".copy", actions).addEventListener("click", async () => {
      try {
        await copyText(plainCopy(final.answer, final.citations));
        note.textContent = "Jawaban disalin.";
      } catch (_) {
        note.textContent = "Tidak dapat menyalin otomatis; silakan salin manual.";
      }
    });
  }

  function fail(msg, message) {
    msg.classList.add("error");
    $(".progress", msg).textContent = "";
    $(".text", msg).textContent = message;
  }

  async function askStreaming(question, msg) {
    const progress = $(".progress", msg);
    const textEl = $(".text", msg);
    progress.textContent = "Mencari sumber…";
    const resp = await fetch("/v1/ask", {
      method: "POST", headers: headers(),
      body: JSON.stringify({ question, conversation_id: conversationId, stream: true }),
    });
    if (!resp.ok) throw new Error(await errorMessage(resp));
    let text = "";
    let citations = [];
    let done = null;
    for await (const { event, data } of sseEvents(resp)) {
      if (event === "retrieval") {
        const n = (data.sources || []).length;
        progress.textContent = n ? `${n} potongan sumber ditemukan, menyusun jawaban…` : "Menyusun jawaban…";
      } else if (event === "delta") {
        text += data.text;
        textEl.textContent = text;
      } else if (event === "citations") {
        citations = data.citations || [];
      } else if (event === "done") {
        done = data;
      } else if (event === "error") {
        throw new Error(data.message || "Terjadi kesalahan.");
      }
    }
    if (!done) throw new Error("Sambungan terputus sebelum jawaban selesai. Silakan coba lagi.");
    return { ...done, answer: text, citations };
  }

  async function ask(question) {
    if (busy) return;
    busy = true;
    sendBtn.disabled = true;
    statusEl.textContent = "";
    if (welcome) welcome.hidden = true;
    addUser(question);
    const msg = addBot();
    scrollDown();
    try {
      const final = await askStreaming(question, msg);
      conversationId = final.conversation_id || conversationId;
      if (conversationId) sessionStorage.setItem("kk.conversation", conversationId);
      $(".progress", msg).textContent = final.standalone_question && final.standalone_question !== question
        ? `Dipahami sebagai: ${final.standalone_question}` : "";
      if (final.abstained) msg.classList.add("abstained");
      msg.dataset.answerId = final.answer_id;
      renderAnswer(msg, final.answer, final.citations);
      showSources(msg, final.citations);
      enableActions(msg, final);
      const ms = final.timings_ms && final.timings_ms.total;
      statusEl.textContent = ms ? `Dijawab dalam ${Math.round(ms)} ms` : "";
    } catch (err) {
      fail(msg, err.message || "Terjadi kesalahan. Silakan coba lagi.");
    } finally {
      busy = false;
      sendBtn.disabled = false;
      scrollDown();
    }
  }

  function autosize() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    if (!q) { statusEl.textContent = "Pertanyaan tidak boleh kosong."; return; }
    input.value = "";
    autosize();
    ask(q);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", autosize);
  document.querySelectorAll(".example").forEach((b) => b.addEventListener("click", () => ask(b.textContent)));

  // After a reload the conversation goes on: show what it holds so far.
  async function restore() {
    if (!conversationId) return;
    try {
      const resp = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}`, { headers: headers() });
      if (!resp.ok) throw new Error("gone");
      const conv = await resp.json();
      if (welcome && conv.turns.length) welcome.hidden = true;
      for (const t of conv.turns) {
        addUser(t.question);
        const msg = addBot();
        msg.dataset.answerId = t.answer_id;
        renderAnswer(msg, t.answer, t.citations);
        showSources(msg, t.citations);
        enableActions(msg, t);
      }
    } catch (_) {
      conversationId = null;
      sessionStorage.removeItem("kk.conversation");
    }
  }

  $("#new-chat").addEventListener("click", async () => {
    if (busy) return;
    const old = conversationId;
    conversationId = null;
    sessionStorage.removeItem("kk.conversation");
    chat.querySelectorAll(".msg").forEach((m) => m.remove());
    if (welcome) welcome.hidden = false;
    statusEl.textContent = "Percakapan baru dimulai.";
    if (old) {
      try { await fetch(`/v1/conversations/${encodeURIComponent(old)}`, { method: "DELETE", headers: headers() }); }
      catch (_) { /* the server forgets idle conversations anyway */ }
    }
    input.focus();
  });

  restore();
})();
