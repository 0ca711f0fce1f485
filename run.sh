#!/usr/bin/env bash
# run.sh — the entry point for cron and for people: runs `keysync sync` with the
# config beside this script, building the binary first if there is none.
# Arguments pass through: ./run.sh --dry-run, ./run.sh --auto-approve.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/bin/keysync"
if [ ! -x "$bin" ]; then
  (cd "$here" && go build -o "$bin" ./cmd/keysync)
fi
exec "$bin" sync --config "$here/keysync-config.yaml" "$@"
