#!/usr/bin/env bash
# run.sh — the entry point for cron and for people: runs `keysync sync` with the
# config beside this script, building the binary first if there is none (or if
# the sources changed since it was built, e.g. after a git pull).
# Arguments pass through: ./run.sh --dry-run, ./run.sh --auto-approve.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/bin/keysync"
if [ ! -x "$bin" ] || [ -n "$(find "$here/cmd" "$here/pkg" "$here/sql" "$here/go.mod" -newer "$bin" -print -quit 2>/dev/null)" ]; then
  (cd "$here" && go build -o "$bin" ./cmd/keysync)
fi
exec "$bin" sync --config "$here/keysync-config.yaml" "$@"
