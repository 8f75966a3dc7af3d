#!/usr/bin/env bash
# Micro search on YOUR images (the fork's skin-lesion scenario) at any size, streamed from TFRecords
# (the `images_micro_search` preset: the CIFAR search recipe at 224 px, batch 32).
#   enas-convert --source=image_folder --input=my_photos/ --output_dir=data/my_tfr --max_side=512
#   DATA_PATH=data/my_tfr IMAGE_SIZE=224 scripts/custom_micro_search.sh [--strategy=mirrored]
# Lower BATCH_SIZE if memory runs out.
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
BATCH_SIZE=${BATCH_SIZE:-32}
exec python -m enas_tf2.cli.cnn_main --config=images_micro_search --data_path="$DATA_PATH" \
  --image_size="${IMAGE_SIZE:-224}" --output_dir="${OUTPUT_DIR:-runs/custom_micro_search}" \
  --batch_size="$BATCH_SIZE" --eval_batch_size="$BATCH_SIZE" "$@"
