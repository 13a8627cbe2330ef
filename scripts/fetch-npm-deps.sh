#!/usr/bin/env bash
# Fetches pinned npm packages that hrflow builds with, verifies their checksums and unpacks them
# under third_party/ (not committed). No install scripts are run.
#   DuckDB: libduckdb.so from @duckdb/node-bindings-linux-x64, duckdb.h from the duckdb source package.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=third_party
mkdir -p "$DEST"

# name@version  sha256-of-tarball
PINS=(
  "@duckdb/node-bindings-linux-x64@1.4.4-r.1 8ac460b152cd05a95065a414879bb09e40534b1fb7a80a7afe6969b6ce039029"
  "duckdb@1.4.4 5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed"
)

fetch() {  # spec sha -> path of verified tarball
  local spec=$1 sha=$2 dir="$DEST/.tarballs"
  mkdir -p "$dir"
  local name; name=$(echo "$spec" | sed -e 's/^@//' -e 's/\//-/' -e 's/@\([0-9]\)/-\1/').tgz
  if [ ! -f "$dir/$name" ] || ! echo "$sha  $dir/$name" | sha256sum -c --status; then
    echo "setup: fetching $spec from the npm registry" >&2
    (cd "$dir" && npm pack --silent --ignore-scripts "$spec" >/dev/null)
  fi
  if ! echo "$sha  $dir/$name" | sha256sum -c --status; then
    echo "setup: checksum mismatch for $spec ($dir/$name); refusing to use it" >&2; exit 1
  fi
  echo "$dir/$name"
}

if [ ! -f "$DEST/duckdb/.stamp-1.4.4" ]; then
  rm -rf "$DEST/duckdb" && mkdir -p "$DEST/duckdb/lib" "$DEST/duckdb/include"
  lib_tgz=$(fetch ${PINS[0]})
  hdr_tgz=$(fetch ${PINS[1]})
  tar -xzf "$lib_tgz" -C "$DEST/duckdb/lib" --strip-components=1 package/libduckdb.so
  tar -xzf "$hdr_tgz" -C "$DEST/duckdb/include" --strip-components=5 package/src/duckdb/src/include/duckdb.h
  touch "$DEST/duckdb/.stamp-1.4.4"
  echo "setup: DuckDB 1.4.4 ready in $DEST/duckdb" >&2
fi
