# leakbench recipes. Each wraps a `leakbench` subcommand, so everything also works without just.

# List recipes.
default:
    @just --list

# Run the whole matrix (every scenario, 3 repetitions), score it, chart it, report it.
run-all *ARGS:
    cargo run --release -p leakbench -- run-all {{ARGS}}

# The tests CI runs: unit, replay gate and integration tests (fixtures built on first use).
test:
    cargo test --workspace

# List scenarios.
list:
    cargo run --release -p leakbench -- list

# Regenerate the committed reference pprof profiles used by the decoder tests.
pprof-testdata:
    cd harness/testdata/pprof/gen && GOEXPERIMENT=goroutineleakprofile go run . ..

# Check formatting and lints of both languages.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd go-fixtures && test -z "$(gofmt -l .)" && go vet ./...
