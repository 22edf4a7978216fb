#!/usr/bin/env bash
# `make demo` leaves nothing behind: it runs to the end, and afterwards no
# process it started is running and its work folder is gone.
#   tests/demo_test.sh SOURCE_DIR TANDEM_BINARY
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$1/scripts/demo" "$2" >"$out" 2>&1; then
  cat "$out"
  echo "the demo failed"
  exit 1
fi
work=$(grep -o '/tmp/tandem-demo-[A-Za-z0-9]*' "$out" | head -1)
if [ -z "$work" ]; then
  cat "$out"
  echo "the demo's output names no work folder"
  exit 1
fi
# The demo waits for its daemons before it ends; a moment's grace all the
# same, polled, with a deadline.
deadline=$((SECONDS + 5))
while pgrep -f -- "$work" >/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
if pgrep -af -- "$work"; then
  echo "the demo left the processes above running"
  pkill -f -- "$work" || true
  exit 1
fi
if [ -e "$work" ]; then
  echo "the demo left $work behind"
  exit 1
fi
echo "the demo ran to the end and left nothing behind"
