#!/usr/bin/env bash
# Final training of a micro architecture on CIFAR-10 with the authors' cifar10_micro_final.sh
# values (the `cifar10_micro_final` preset): the published cells unless ARCH_JSON is set.
#   DATA_PATH=data/cifar10 [ARCH_JSON=runs/cifar10_micro_search/arch.json] scripts/cifar10_micro_final.sh
# VALID_SIZE=0 trains on all 50,000 images like the original (no model selection).
set -euo pipefail
PUBLISHED="0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
if [[ -n "${ARCH_JSON:-}" ]]; then ARCH=(--arch_json="$ARCH_JSON"); else ARCH=(--child_fixed_arc="$PUBLISHED"); fi
exec python -m enas_tf2.cli.cnn_main --config=cifar10_micro_final "${ARCH[@]}" \
  --data_path="${DATA_PATH:-data/cifar10}" --output_dir="${OUTPUT_DIR:-runs/cifar10_micro_final}" \
  --valid_size="${VALID_SIZE:-5000}" "$@"
