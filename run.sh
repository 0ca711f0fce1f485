#!/usr/bin/env bash
# run.sh — the entry point for cron and for people: runs `keysync sync` with the
# config beside this script, building the binary first if there is none. When
# the sources changed since it was built (a git pull) it rebuilds if Go is on
# the PATH — cron's PATH often has no Go: then it warns and runs the old one.
# Arguments pass through: ./run.sh --dry-run, ./run.sh --auto-approve.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/bin/keysync"
if [ ! -x "$bin" ]; then
  (cd "$here" && go build -o "$bin" ./cmd/keysync)
elif [ -n "$(find "$here/cmd" "$here/pkg" "$here/sql" "$here/go.mod" -newer "$bin" -print -quit 2>/dev/null)" ]; then
  if command -v go >/dev/null 2>&1; then
    (cd "$here" && go build -o "$bin" ./cmd/keysync)
  else
    echo "run.sh: $bin is older than the sources and go is not on PATH; running it as it is" >&2
  fi
fi
exec "$bin" sync --config "$here/keysync-config.yaml" "$@"
