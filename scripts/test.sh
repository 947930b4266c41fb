#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything once (one cargo
# profile for tests, the node and the devnet), checks formatting and lints, and runs every
# test — unit, runtime, and end-to-end against the real node binary.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

step() { echo "==> $*"; }
start=$(date +%s)

step "cargo fmt --check"
cargo fmt --all -- --check

step "build (binaries the end-to-end tests start)"
cargo build --locked --workspace --bins --timings

step "clippy -D warnings"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
	cargo nextest run --locked --workspace --no-fail-fast
else
	cargo test --locked --workspace --no-fail-fast
fi

echo "==> all checks passed in $(( $(date +%s) - start ))s"
