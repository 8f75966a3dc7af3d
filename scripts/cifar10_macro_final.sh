#!/usr/bin/env bash
# Final training of a macro architecture on CIFAR-10 with the authors' cifar10_macro_final.sh
# values (the `cifar10_macro_final` preset: 24 layers, F=96, keep 0.5, 310 epochs, batch 100):
# the published 24-layer network unless ARCH_JSON is set.
#   DATA_PATH=data/cifar10 [ARCH_JSON=runs/cifar10_macro_search/arch.json] scripts/cifar10_macro_final.sh
# FIXED_OPS=original builds the authors' final net exactly (separable ops as regular convs).
set -euo pipefail
PUBLISHED="0
3 0
0 1 0
2 0 0 1
2 0 0 0 0
3 1 1 0 1 0
2 0 0 0 0 0 1
2 0 1 1 0 1 1 1
1 0 1 1 1 0 1 0 1
0 0 0 0 0 0 0 0 0 0
2 0 0 0 0 0 1 0 0 0 0
0 1 0 0 1 1 0 0 0 0 1 1
2 0 1 0 0 0 0 0 1 0 1 1 0
1 0 0 1 0 0 0 1 1 1 0 1 0 1
0 1 1 0 1 0 1 0 0 0 0 0 1 0 0
2 0 0 1 0 0 0 0 0 0 0 1 0 1 0 1
2 0 1 0 0 0 1 0 0 1 1 1 1 0 0 1 0
2 0 0 0 0 1 0 1 0 1 0 0 1 0 1 0 0 1
3 0 1 1 0 1 0 0 0 0 0 1 0 1 0 1 0 0 0
3 0 1 1 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0 1
0 1 0 0 1 0 1 1 0 0 0 1 0 0 0 0 0 1 1 0 0
3 0 1 0 1 1 0 0 1 0 1 1 0 1 1 0 1 0 0 1 0 0
0 1 0 1 0 1 0 0 0 0 0 0 0 0 1 0 1 0 0 1 0 0 0
0 1 1 0 0 0 1 1 1 0 1 0 0 0 1 0 1 0 0 1 1 0 0 0"
if [[ -n "${ARCH_JSON:-}" ]]; then ARCH=(--arch_json="$ARCH_JSON"); else ARCH=(--child_fixed_arc="$PUBLISHED"); fi
exec python -m enas_tf2.cli.cnn_main --config=cifar10_macro_final "${ARCH[@]}" \
  --data_path="${DATA_PATH:-data/cifar10}" --output_dir="${OUTPUT_DIR:-runs/cifar10_macro_final}" \
  --valid_size="${VALID_SIZE:-5000}" --child_fixed_ops="${FIXED_OPS:-as_named}" "$@"
