#!/usr/bin/env bash
# Regenerates chain-spec/*.json from the runtime's genesis presets, the subxt metadata
# offchain-trainer/metadata/tessera.scale from the runtime, and docs/pallet.md from that
# metadata. Run after changing the runtime; tests fail while any of them is stale.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# The subxt client is generated from the metadata this script writes, so it may not compile
# until that is fresh: build everything with --keep-going and require only the node.
messages="$(mktemp)"
trap 'rm -f "$messages"' EXIT
cargo build --locked --workspace --all-targets --keep-going \
	--message-format=json-render-diagnostics >"$messages" || true
if ! grep '"reason":"compiler-artifact"' "$messages" | grep -q '"executable":"[^"]*/tessera-node"'; then
	echo "tessera-node did not build; see the errors above" >&2
	exit 1
fi

node="$CARGO_TARGET_DIR/debug/tessera-node"
"$node" export-chain-spec --chain dev >chain-spec/dev.json
"$node" export-chain-spec --chain local >chain-spec/local_testnet.json
"$node" export-metadata --output offchain-trainer/metadata/tessera.scale
"$CARGO_TARGET_DIR/debug/offchain-trainer" pallet-docs \
	--metadata offchain-trainer/metadata/tessera.scale >docs/pallet.md
echo "wrote chain-spec/dev.json chain-spec/local_testnet.json offchain-trainer/metadata/tessera.scale docs/pallet.md"
