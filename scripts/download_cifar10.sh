#!/usr/bin/env bash
# Downloads the official CIFAR-10 python batches into data/cifar10/cifar-10-batches-py/
# (the layout --dataset=cifar10 --data_path=data/cifar10 expects). Needs curl or wget.
#   scripts/download_cifar10.sh [TARGET_DIR]      (default: data/cifar10)
set -euo pipefail

URL="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5="c58f30108f718f92721af3b95e74349a"
TARGET=${1:-data/cifar10}

if [ -f "$TARGET/cifar-10-batches-py/test_batch" ]; then
  echo "CIFAR-10 already present in $TARGET/cifar-10-batches-py"
  exit 0
fi
mkdir -p "$TARGET"
ARCHIVE="$TARGET/cifar-10-python.tar.gz"

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

echo "downloading $URL (163 MB) ..."
if ! fetch "$URL" "$ARCHIVE"; then
  rm -f "$ARCHIVE"
  echo "error: could not download $URL (offline?). On a machine with internet access download" \
       "it, then extract it here with: tar -xzf cifar-10-python.tar.gz -C $TARGET" >&2
  exit 1
fi
if command -v md5sum >/dev/null 2>&1; then
  echo "$MD5  $ARCHIVE" | md5sum -c --quiet - || {
    echo "error: $ARCHIVE has the wrong checksum (incomplete download?); delete it and retry" >&2
    exit 1
  }
fi
tar -xzf "$ARCHIVE" -C "$TARGET"
rm -f "$ARCHIVE"
echo "CIFAR-10 ready in $TARGET/cifar-10-batches-py"
