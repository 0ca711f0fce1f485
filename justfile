# Conveniences for developers; nothing requires just (see README for plain commands).

# build the binary into bin/keysync
build:
    go build -o bin/keysync ./cmd/keysync

# run every test, as CI does
test:
    bash .ci/run

# run a sync on the shipped example inputs
sync *ARGS:
    go run ./cmd/keysync sync --config keysync-config.yaml {{ARGS}}

# format the code
fmt:
    gofmt -w cmd pkg sql internal

# vet and check formatting
lint:
    go vet ./...
    test -z "$(gofmt -l cmd pkg sql internal)"

# fuzz the open-ended inputs for a while
fuzz TIME="60s":
    go test -run='^$' -fuzz=FuzzNormalize -fuzztime={{TIME}} ./pkg/normalize/
    go test -run='^$' -fuzz=FuzzCSVExtract -fuzztime={{TIME}} ./pkg/source/

# Generates the data with keysync gen; needs /usr/bin/time and the sqlite3 shell.
# end-to-end benchmark: keysync sync on N generated rows per system (A + 4 peers): wall, rows/s, peak RSS, phases
bench N="1000000":
    #!/usr/bin/env bash
    set -euo pipefail
    go build -o bin/keysync ./cmd/keysync
    dir="${TMPDIR:-/tmp}/keysync-bench-{{N}}"
    rm -rf "$dir"
    bin/keysync gen --rows {{N}} --out "$dir" >/dev/null
    log="$dir/sync.log"
    /usr/bin/time -f "wall %e s, user %U s, sys %S s, peak RSS %M KB" \
        bin/keysync --verbose --log-format json sync --config "$dir/keysync-config.yaml" >/dev/null 2>"$log" || { tail -5 "$log"; exit 1; }
    rows=$(sqlite3 "$dir/keysync.db" "select sum(rows_read) from run_systems" 2>/dev/null || echo "?")
    tail -1 "$log"
    grep '"msg":"phases"' "$log" | sed 's/.*"extract_ms"/phases (ms): extract/; s/"//g; s/_ms//g; s/}$//'
    wall=$(tail -1 "$log" | sed -E 's/wall ([0-9.]+) s.*/\1/')
    echo "rows: $rows, rows/s: $(awk -v r="$rows" -v w="$wall" 'BEGIN { if (r ~ /^[0-9]+$/ && w > 0) printf "%.0f", r / w; else print "?" }')"
