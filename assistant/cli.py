"""``kota-kreatif``: the command-line adapter (typer + rich) over the same ``Assistant`` as the API and bot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Asisten Kota Kreatif (UCCN & ekonomi kreatif).")
console = Console()
err = Console(stderr=True)


def _assistant():
    from assistant.assistant import Assistant

    return Assistant()


def _filters(topic: Optional[str], doc: Optional[str]):
    from assistant.models import Filters

    return Filters(topic=topic, doc_id=doc) if (topic or doc) else None


def _print_report(report) -> None:
    table = Table(title="Ringkasan ingest", show_header=False)
    for label, value in [
        ("berkas", report.files), ("dokumen terindeks", report.documents), ("chunk baru", report.chunks_added),
        ("chunk diperbarui", report.chunks_updated), ("chunk tidak berubah", report.chunks_unchanged),
        ("chunk dihapus", report.chunks_removed), ("di-embed", report.embedded),
        ("berkas dilewati", len(report.skipped)), ("generasi", report.generation), ("detik", report.seconds),
    ]:
        table.add_row(label, str(value))
    console.print(table)
    for s in report.skipped:
        err.print(f"[yellow]dilewati[/] {s.path}: {s.reason}")


@app.command()
def ingest(paths: list[Path] = typer.Argument(None, help="Berkas/folder; bawaan: corpus/"),
           json_out: bool = typer.Option(False, "--json", help="Cetak ringkasan sebagai JSON.")) -> None:
    """Index files (md/txt/pdf/html/docx); only new or changed chunks are embedded."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    a = _assistant()
    tasks: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=json_out) as prog:
        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task({"files": "membaca berkas", "embed": "embedding",
                 "sentences": "embedding kalimat",
                                              "bm25": "indeks BM25"}.get(stage, stage), total=total)
            prog.update(tasks[stage], completed=done, total=total)

        report = a.ingest(paths or None, progress)
    if json_out:
        print(report.model_dump_json(indent=2))
    else:
        _print_report(report)
    a.close()
    raise typer.Exit(code=2 if report.skipped else 0)


@app.command()
def ask(question: str, json_out: bool = typer.Option(False, "--json"), topic: Optional[str] = None,
        doc: Optional[str] = None) -> None:
    """Answer one question with citations."""
    from assistant.assistant import InvalidQuestion

    a = _assistant()
    try:
        ans = a.ask(question, filters=_filters(topic, doc), remember=False)
    except InvalidQuestion as exc:
        err.print(f"[red]Galat:[/] {exc}")
        raise typer.Exit(code=2) from None
    if json_out:
        print(json.dumps(_public_answer(ans), ensure_ascii=False, indent=2))
    else:
        _print_answer(ans)
    a.close()


def _public_answer(ans) -> dict:
    return ans.model_dump(include={"answer", "abstained", "citations", "timings_ms", "answer_id", "conflict",
                                   "standalone_question"})


def _print_answer(ans) -> None:
    style = "yellow" if ans.abstained else "green"
    console.print(f"[{style}]{ans.answer}[/]")
    for c in ans.citations:
        sec = f" › {c.section}" if c.section else ""
        console.print(f"  [bold][{c.n}][/] {c.title}{sec} ({c.date}) {c.url}")
        console.print(f"      [dim]“{c.quote}”[/]")
    console.print(f"[dim]{ans.timings_ms.get('total', 0):.0f} ms[/]")


@app.command()
def search(query: str, k: int = 5, json_out: bool = typer.Option(False, "--json"), topic: Optional[str] = None,
           doc: Optional[str] = None) -> None:
    """Ranked chunks with their scores."""
    from assistant.assistant import InvalidQuestion

    a = _assistant()
    try:
        res = a.search(query, k, _filters(topic, doc))
    except InvalidQuestion as exc:
        err.print(f"[red]Galat:[/] {exc}")
        raise typer.Exit(code=2) from None
    if json_out:
        print(res.model_dump_json(indent=2))
    else:
        for i, h in enumerate(res.results, 1):
            console.print(f"[bold]{i}. {h.score:.3f}[/] {h.doc_id} › {h.section} "
                          f"[dim](dense {h.dense_score}, bm25 {h.bm25_score})[/]")
            console.print(f"   {h.text[:300]}")
    a.close()


@app.command()
def chat() -> None:
    """Interactive chat that keeps the conversation (follow-ups such as "Kalau Bandung?" work)."""
    from assistant.assistant import InvalidQuestion

    a = _assistant()
    cid = None
    console.print("[bold]Asisten Kota Kreatif[/] — ketik pertanyaan; '/reset' memulai percakapan baru, "
                  "'/keluar' berhenti.")
    while True:
        try:
            q = console.input("[bold cyan]Anda ›[/] ")
        except (EOFError, KeyboardInterrupt):
            break
        if q.strip() in {"/keluar", "/exit", "/quit"}:
            break
        if q.strip() == "/reset":
            if cid:
                a.conversations.delete(cid)
            cid = None
            continue
        if not q.strip():
            continue
        try:
            ans = a.ask(q, conversation_id=cid)
        except InvalidQuestion as exc:
            err.print(f"[red]{exc}[/]")
            continue
        cid = ans.conversation_id
        if ans.standalone_question != ans.question:
            console.print(f"[dim](dipahami sebagai: {ans.standalone_question})[/]")
        _print_answer(ans)
    a.close()


@app.command()
def draft(message: Optional[str] = typer.Argument(None, help="Isi pesan; tanpa argumen dibaca dari stdin"),
          file: Optional[Path] = typer.Option(None, "--file", "-f", exists=True, dir_okay=False,
                                              help="Berkas teks berisi pesan"),
          json_out: bool = typer.Option(False, "--json")) -> None:
    """Draft a formal reply letter (Indonesian) to a focal point's message, with citations."""
    from assistant.assistant import InvalidQuestion

    text = file.read_text(encoding="utf-8") if file else (message if message is not None else sys.stdin.read())
    a = _assistant()
    try:
        reply = a.draft(text)
    except InvalidQuestion as exc:
        err.print(f"[red]Galat:[/] {exc}")
        a.close()
        raise typer.Exit(code=2) from None
    if json_out:
        print(reply.model_dump_json(indent=2, include={"draft", "citations", "unanswered", "questions",
                                                       "timings_ms"}))
    else:
        console.print(reply.draft, markup=False, highlight=False)
        console.print()
        for c in reply.citations:
            sec = f" › {c.section}" if c.section else ""
            console.print(f"[bold][{c.n}][/] {c.title}{sec} ({c.date}) {c.url}")
        if reply.unanswered:
            console.print(f"[yellow]Belum terjawab dari dokumen: {len(reply.unanswered)} pertanyaan[/]")
    a.close()


@app.command()
def check(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="Draf aplikasi: txt/md/docx/pdf"),
          json_out: bool = typer.Option(False, "--json")) -> None:
    """Check a draft UCCN application against the requirements found in the documents (✅ ⚠️ ❌)."""
    from assistant.documents import LoadError

    a = _assistant()
    try:
        res = a.check_application(path.read_bytes(), path.name)
    except LoadError as exc:
        err.print(f"[red]Berkas tidak dapat dibaca:[/] {exc}")
        a.close()
        raise typer.Exit(code=2) from None
    if json_out:
        print(res.model_dump_json(indent=2))
    else:
        console.print(res.to_text(), markup=False, highlight=False)
    a.close()


@app.command()
def status() -> None:
    """What the current index holds."""
    a = _assistant()
    print(json.dumps(a.status(), indent=2))
    a.close()


@app.command()
def up(ingest_first: bool = typer.Option(True, help="Bangun/perbarui indeks dari corpus/ bila perlu."),
       chat_mode: bool = typer.Option(False, "--chat", help="Mulai chat interaktif, bukan server.")) -> None:
    """Build the index if missing or stale, then start the assistant (the README's first command)."""
    a = _assistant()
    if ingest_first and a.is_stale():
        err.print("Indeks belum ada atau usang: membangun dari corpus/ …")
        report = a.ingest()
        _print_report(report)
    settings = a.settings
    a.close()
    if chat_mode or not _has_server():
        chat()
        return
    from assistant.api.server import run_server

    if settings.telegram_bot_token:
        err.print("Bot Telegram ikut dijalankan (token ditemukan).")
    else:
        err.print("Bot Telegram tidak dijalankan: TELEGRAM_BOT_TOKEN belum diatur. API dan web chat tetap berjalan.")
    err.print("Web chat dan API: http://127.0.0.1:8000  (Ctrl+C untuk berhenti)")
    run_server()


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Alamat; bawaan hanya loopback."),
          port: int = typer.Option(8000)) -> None:
    """Start the HTTP API and web chat (and the Telegram bot when a token is configured)."""
    from assistant.api.server import run_server

    run_server(host=host, port=port)


@app.command()
def bot() -> None:
    """Run the Telegram bot alone (long polling), e.g. beside an API in another process."""
    from bots.telegram.app import run_polling

    run_polling()


def _register_subcommands() -> None:
    """Sub-apps that live in other packages (evals) are attached when present."""
    import importlib.util

    if importlib.util.find_spec("evals") and importlib.util.find_spec("evals.cli"):
        from evals.cli import app as eval_app

        app.add_typer(eval_app, name="eval", help="Evaluasi kualitas jawaban dan retrieval.")
    if importlib.util.find_spec("evals") and importlib.util.find_spec("evals.bench"):
        from evals.bench import app as bench_app

        app.add_typer(bench_app, name="bench", help="Benchmark kecepatan, memori dan kualitas (3 ukuran korpus).")


_register_subcommands()


def _has_server() -> bool:
    try:
        import assistant.api.server  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:  # console-script entry point
    from assistant.store import IndexWriteError, StoreUnavailable

    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except (IndexWriteError, StoreUnavailable, TimeoutError) as exc:
        # Operational failures get their message, not a traceback (the old index is intact in all three cases).
        err.print(f"[red]Galat:[/] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
