#!/usr/bin/env bash
# Regenerates pallets/training/src/weights.rs from frame-benchmarking v2 measurements: builds the
# node in release mode with the `runtime-benchmarks` feature and runs its `benchmark pallet`
# subcommand on the runtime's wasm (the code a real chain executes). Run it after changing a call,
# a hook or a benchmark of pallet-training, then commit the new weights.rs.
#
#   bash scripts/generate-weights.sh            # full measurement (steps 20, repeat 10)
#   STEPS=2 REPEAT=1 bash scripts/generate-weights.sh   # a quick smoke run
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

steps=${STEPS:-20}
repeat=${REPEAT:-10}
output=${OUTPUT:-pallets/training/src/weights.rs}

# The storage benchmark's test runtime (a dependency of frame-benchmarking-cli) is not needed
# for `benchmark pallet`; skipping its wasm build saves minutes.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
cargo build --locked --release -p tessera-node --features runtime-benchmarks
node="$CARGO_TARGET_DIR/release/tessera-node"

"$node" benchmark pallet \
	--chain dev \
	--pallet pallet_training \
	--extrinsic '*' \
	--steps "$steps" \
	--repeat "$repeat" \
	--wasm-execution compiled \
	--heap-pages 4096 \
	--template pallets/training/benchmarking/weight-template.hbs \
	--output "$output"
echo "wrote $output"
