#!/usr/bin/env bash
# Start the OpenAI-compatible llama.cpp server (llama-cpp-python[server]) on loopback with the GGUF that
# scripts/llm_setup.sh reassembled, and wait until `GET /v1/models` answers. Then point the assistant at it:
#
#   KK_LLM_BACKEND=openai KK_LLM_BASE_URL=http://127.0.0.1:$LLM_PORT/v1 KK_LLM_MODEL=$LLM_ALIAS …
#
#   scripts/llm_server.sh            # start in the background (nice'd), wait, print the base URL
#   scripts/llm_server.sh stop       # stop the server this script started (by its pid file)
#   scripts/llm_server.sh status     # does /v1/models answer?
#
# Why nice'd and 2 threads: on a 2-core machine shared with the API and the embedder, generation would
# otherwise starve everything else; the numbers in docs/llm.md were measured this way.
# Why 127.0.0.1 only: the server has no authentication; the assistant is its only client.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
HOME_DIR="${LLM_HOME:-$(dirname "$REPO")}"
LLM_VENV="${LLM_VENV:-$HOME_DIR/llm-venv}"
LLM_MODELS="${LLM_MODELS:-$HOME_DIR/llm-models}"
LLM_MODEL_FILE="${LLM_MODEL_FILE:-$LLM_MODELS/qwen2.5-coder-1.5b-q4.gguf}"
LLM_ALIAS="${LLM_ALIAS:-qwen2.5-coder-1.5b}"
LLM_PORT="${LLM_PORT:-8089}"
LLM_THREADS="${LLM_THREADS:-2}"
LLM_CTX="${LLM_CTX:-4096}"
LLM_NICE="${LLM_NICE:-10}"
LLM_WAIT="${LLM_WAIT:-180}"
RUN_DIR="${LLM_RUN_DIR:-$LLM_MODELS/run}"
PID_FILE="$RUN_DIR/server-$LLM_PORT.pid"
LOG_FILE="$RUN_DIR/server-$LLM_PORT.log"
URL="http://127.0.0.1:$LLM_PORT/v1"

answers() { curl -sf --max-time 5 "$URL/models" >/dev/null 2>&1; }

case "${1:-start}" in
  stop)
    if [ -f "$PID_FILE" ]; then
      pid=$(cat "$PID_FILE")
      kill "$pid" 2>/dev/null && echo "stopped $pid" || echo "not running ($pid)"
      rm -f "$PID_FILE"
    else
      echo "no pid file $PID_FILE"
    fi
    exit 0 ;;
  status)
    if answers; then echo "up: $URL"; exit 0; else echo "down: $URL"; exit 1; fi ;;
  start) ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

if answers; then
  echo "already up: $URL"
  exit 0
fi
[ -x "$LLM_VENV/bin/python" ] || { echo "no venv at $LLM_VENV: run scripts/llm_setup.sh" >&2; exit 1; }
[ -s "$LLM_MODEL_FILE" ] || { echo "no model at $LLM_MODEL_FILE: run scripts/llm_setup.sh" >&2; exit 1; }
mkdir -p "$RUN_DIR"
nohup nice -n "$LLM_NICE" "$LLM_VENV/bin/python" -m llama_cpp.server \
  --model "$LLM_MODEL_FILE" --model_alias "$LLM_ALIAS" --host 127.0.0.1 --port "$LLM_PORT" \
  --n_ctx "$LLM_CTX" --n_threads "$LLM_THREADS" --n_threads_batch "$LLM_THREADS" \
  >"$LOG_FILE" 2>&1 &
echo $! > "$PID_FILE"
echo "starting llama.cpp server (pid $(cat "$PID_FILE"), log $LOG_FILE)"
for _ in $(seq 1 "$LLM_WAIT"); do
  if answers; then
    echo "up: $URL (model alias $LLM_ALIAS)"
    exit 0
  fi
  if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "server exited; last log lines:" >&2
    tail -20 "$LOG_FILE" >&2
    exit 1
  fi
  sleep 1
done
echo "server did not answer $URL/models within ${LLM_WAIT}s; log: $LOG_FILE" >&2
exit 1
