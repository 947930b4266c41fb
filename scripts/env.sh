# Sourced by the project's scripts: installs what building needs (scripts/setup-toolchain.sh),
# exports the wasm toolchain settings, and points cargo at the shared target directory outside
# the clone so that repeated runs on one machine are warm.
set -euo pipefail
TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TESSERA_ROOT
eval "$(bash "$TESSERA_ROOT/scripts/setup-toolchain.sh")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tessera/target}"
# The target dir is outside the clone: tell the wasm builder where the workspace (and its
# Cargo.lock) is, so the runtime builds with the locked versions.
export WASM_BUILD_WORKSPACE_HINT="$TESSERA_ROOT"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cd "$TESSERA_ROOT"
