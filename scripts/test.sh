#!/usr/bin/env bash
# The whole test suite, with the servers it needs: a real `chroma run` on 127.0.0.1 (for the tests that
# exercise the HTTP store) and Debian's chromium (for the web page tests). Called by `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "WARNING: chromium could not be installed; browser tests will be skipped"
  else
    echo "WARNING: chromium missing and not root; browser tests will be skipped"
  fi
fi

CHROMA_DIR=$(mktemp -d)
PORT=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$BIN/chroma run --path "$CHROMA_DIR" --host 127.0.0.1 --port "$PORT" >"$CHROMA_DIR/server.log" 2>&1 &
CHROMA_PID=$!
cleanup() { kill "$CHROMA_PID" 2>/dev/null || true; wait "$CHROMA_PID" 2>/dev/null || true; rm -rf "$CHROMA_DIR"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$PORT/api/v2/heartbeat" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/api/v2/heartbeat" >/dev/null || { cat "$CHROMA_DIR/server.log"; exit 1; }
echo "chroma run server on 127.0.0.1:$PORT"
export KK_TEST_CHROMA_HOST=127.0.0.1 KK_TEST_CHROMA_PORT="$PORT"

$BIN/ruff check assistant bots evals tests
$BIN/python -m pytest -q -rs -p no:cacheprovider "$@"
