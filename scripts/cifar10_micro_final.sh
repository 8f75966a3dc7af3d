#!/usr/bin/env bash
# Final training of the published ENAS micro cells (or ARCH_JSON from a search) with the
# hyper-parameters of the authors' cifar10_micro_final.sh, plus what the original lacked: a real
# gradient clip, a trained auxiliary head, and a 5,000-image validation split for model selection
# (VALID_SIZE=0 trains on all 50,000 images like the original; test is then reported every epoch).
#   scripts/cifar10_micro_final.sh                       # published arch
#   ARCH_JSON=runs/cifar10_micro_search/arch.json scripts/cifar10_micro_final.sh
set -euo pipefail
DATA_PATH=${DATA_PATH:-data/cifar10}
OUTPUT_DIR=${OUTPUT_DIR:-runs/cifar10_micro_final}
VALID_SIZE=${VALID_SIZE:-5000}
PUBLISHED="0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"
if [[ -n "${ARCH_JSON:-}" ]]; then ARCH=(--arch_json="$ARCH_JSON"); else ARCH=(--child_fixed_arc="$PUBLISHED"); fi

python -m enas_tf2.cli.cnn_main \
  --search_for=micro \
  --dataset=cifar10 \
  --data_path="$DATA_PATH" \
  --output_dir="$OUTPUT_DIR" \
  --valid_size="$VALID_SIZE" \
  "${ARCH[@]}" \
  --batch_size=144 \
  --num_epochs=630 \
  --log_every=50 \
  --eval_every_epochs=1 \
  --child_use_aux_heads \
  --child_num_layers=15 \
  --child_out_filters=36 \
  --child_num_branches=5 \
  --child_num_cells=5 \
  --child_keep_prob=0.80 \
  --child_drop_path_keep_prob=0.60 \
  --child_l2_reg=2e-4 \
  --child_lr_cosine \
  --child_lr_max=0.05 \
  --child_lr_min=0.0001 \
  --child_lr_T_0=10 \
  --child_lr_T_mul=2 \
  --nocontroller_training \
  "$@"
