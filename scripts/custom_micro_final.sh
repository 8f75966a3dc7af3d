#!/usr/bin/env bash
# Final training of a found architecture on YOUR converted images, then export it.
#   DATA_PATH=data/my_tfr ARCH_JSON=runs/custom_micro_search/arch.json IMAGE_SIZE=224 \
#     scripts/custom_micro_final.sh
#   enas-export --output_dir=runs/custom_micro_final --export_dir=exports/my_model
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
ARCH_JSON=${ARCH_JSON:?set ARCH_JSON to a search output arch.json}
OUTPUT_DIR=${OUTPUT_DIR:-runs/custom_micro_final}
IMAGE_SIZE=${IMAGE_SIZE:-224}
BATCH_SIZE=${BATCH_SIZE:-32}

python -m enas_tf2.cli.cnn_main \
  --search_for=micro \
  --dataset=tfrecord \
  --data_path="$DATA_PATH" \
  --image_size="$IMAGE_SIZE" \
  --arch_json="$ARCH_JSON" \
  --output_dir="$OUTPUT_DIR" \
  --batch_size="$BATCH_SIZE" \
  --eval_batch_size="$BATCH_SIZE" \
  --num_epochs=310 \
  --log_every=50 \
  --child_use_aux_heads \
  --child_num_layers=15 \
  --child_out_filters=36 \
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
