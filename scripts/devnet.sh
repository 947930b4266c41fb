#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the node and starts the dev
# chain (a block every second, finalized at once). Extra arguments go to the node, e.g.
# `scripts/devnet.sh --block-time-ms 500` or `--rpc-port 9955`.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# The same build as the test command, so the two share every artifact.
cargo build --locked --workspace --all-targets
echo "==> starting the dev chain; follow windows with:"
echo "    $CARGO_TARGET_DIR/debug/offchain-trainer windows --url ws://127.0.0.1:9944"
exec "$CARGO_TARGET_DIR/debug/tessera-node" --dev "$@"
