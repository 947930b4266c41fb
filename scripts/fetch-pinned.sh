#!/usr/bin/env bash
# Downloads URL to DEST unless DEST already has the pinned SHA-256; checks the hash of what it
# downloaded before moving it into place. Used by fetch-corpus.sh, fetch-nvrtc.sh and
# setup-cuda-toolkit.sh.
#
#   bash scripts/fetch-pinned.sh URL SHA256 DEST [MAX_SECONDS]
set -euo pipefail
url=$1 sha256=$2 dest=$3 max=${4:-300}

echo "$sha256  $dest" | sha256sum -c --status 2>/dev/null && exit 0
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp "$(dirname "$dest")/.$(basename "$dest").XXXXXX")
trap 'rm -f "$tmp"' EXIT
curl --fail --silent --show-error --location --retry 3 --max-time "$max" -o "$tmp" "$url"
if ! echo "$sha256  $tmp" | sha256sum -c --status; then
	echo "fetch-pinned: $url does not have the pinned SHA-256 $sha256" >&2
	exit 1
fi
mv "$tmp" "$dest"
