#!/usr/bin/env bash
# Macro (whole-network) search on CIFAR-10 with the authors' cifar10_macro_search.sh values (the
# `cifar10_macro_search` preset: 12 layers, F=36, 310 epochs, batch 128, skip target 0.4/0.8).
#   DATA_PATH=data/cifar10 scripts/cifar10_macro_search.sh [--flag=value ...]
set -euo pipefail
exec python -m enas_tf2.cli.cnn_main --config=cifar10_macro_search \
  --data_path="${DATA_PATH:-data/cifar10}" --output_dir="${OUTPUT_DIR:-runs/cifar10_macro_search}" \
  "$@"
