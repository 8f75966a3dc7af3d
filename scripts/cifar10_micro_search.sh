#!/usr/bin/env bash
# Micro (cell) search on CIFAR-10 with the authors' cifar10_micro_search.sh values (the
# `cifar10_micro_search` preset in enas_tf2/configs/presets.py; docs/faithfulness.md lists them).
#   DATA_PATH=data/cifar10 scripts/cifar10_micro_search.sh [--flag=value ...]
# Extra flags override the preset, e.g. --num_epochs=10 or --strategy=mirrored.
set -euo pipefail
exec python -m enas_tf2.cli.cnn_main --config=cifar10_micro_search \
  --data_path="${DATA_PATH:-data/cifar10}" --output_dir="${OUTPUT_DIR:-runs/cifar10_micro_search}" \
  "$@"
