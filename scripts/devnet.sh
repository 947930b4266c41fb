#!/usr/bin/env bash
# The README's main command: installs what is missing, builds everything (the same build as the
# test command, so the two share every artifact), fetches the corpus source, and runs the whole
# network locally — a dev node, an object store, 3 miners and 1 validator on the `small` model
# on CPU — until it has trained `--windows` windows (default 4, about 10 minutes on 2 cores).
# Extra arguments go to `offchain-trainer devnet`, e.g.
#   scripts/devnet.sh --windows 4 --model tiny --block-time-ms 1000
#   scripts/devnet.sh --s3 --adversary noise --adversary late
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cargo build --locked --workspace --all-targets
archive=$(bash scripts/fetch-corpus.sh)
exec "$CARGO_TARGET_DIR/debug/offchain-trainer" devnet --source "$archive" "$@"
