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

# end-to-end benchmark: keysync sync and its floor (cmd/keysync-floor) on the same N generated rows per
# system (A + 4 peers), each R times: wall, peak RSS, the ratio, phases, database size, rows/s
bench N="1000000" R="1":
    go build -o bin/ ./cmd/keysync ./cmd/keysync-floor ./cmd/keysync-bench
    bin/keysync-bench --rows {{N}} --runs {{R}}

# the same, then keysync tune on the last run's staged rows R times: its wall, peak RSS and ratio to the sync
bench-tune N="1000000" R="1":
    go build -o bin/ ./cmd/keysync ./cmd/keysync-floor ./cmd/keysync-bench
    bin/keysync-bench --rows {{N}} --runs {{R}} --tune
