#!/usr/bin/env bash
# Installs the JavaScript clients the docs' examples use (polkadot.js, versions and integrity
# hashes pinned by tests/js/package-lock.json) into tests/js/node_modules, so the end-to-end tests
# can run the docs' JavaScript against a dev node. Installs Node.js and npm from Debian when
# missing. A second run with the same lock file does nothing.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/tests/js

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	SUDO=""
	if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
	echo "fetch-js-client: apt-get install nodejs npm" >&2
	$SUDO apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >&2
fi

# polkadot.js 16 and the docs' examples (ES modules, top-level await) need Node.js 18 or later.
if [ "$(node_major)" -lt 18 ]; then
	echo "fetch-js-client: Node.js $(node --version) is too old: 18 or later is needed" >&2
	exit 1
fi

stamp=$dir/node_modules/.tessera-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dir/node_modules/@polkadot/api" ]; then
	exit 0
fi
echo "fetch-js-client: npm ci in tests/js" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
echo "$want" > "$stamp"
