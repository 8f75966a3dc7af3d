#!/usr/bin/env bash
# Macro search on YOUR converted images (the `cifar10_macro_search` recipe on an enas-convert
# folder; add --child_stem=imagenet for photos of 128 px and more).
#   DATA_PATH=data/my_tfr IMAGE_SIZE=96 scripts/custom_macro_search.sh [--flag=value ...]
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
BATCH_SIZE=${BATCH_SIZE:-32}
exec python -m enas_tf2.cli.cnn_main --config=cifar10_macro_search --dataset=tfrecord \
  --data_path="$DATA_PATH" --image_size="${IMAGE_SIZE:-96}" \
  --output_dir="${OUTPUT_DIR:-runs/custom_macro_search}" --batch_size="$BATCH_SIZE" \
  --eval_batch_size="$BATCH_SIZE" --num_epochs="${NUM_EPOCHS:-100}" "$@"
