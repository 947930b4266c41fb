#!/usr/bin/env bash
# Regenerates chain-spec/*.json from the runtime's genesis presets, and the subxt metadata
# offchain-trainer/metadata/tessera.scale from the runtime. Run after changing the runtime;
# tests fail while either is stale.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cargo build --locked -p tessera-node
node="$CARGO_TARGET_DIR/debug/tessera-node"
"$node" export-chain-spec --chain dev > chain-spec/dev.json
"$node" export-chain-spec --chain local > chain-spec/local_testnet.json
"$node" export-metadata --output offchain-trainer/metadata/tessera.scale
echo "wrote chain-spec/dev.json chain-spec/local_testnet.json offchain-trainer/metadata/tessera.scale"
