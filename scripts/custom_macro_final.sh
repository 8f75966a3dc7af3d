#!/usr/bin/env bash
# Final training of a found macro architecture on YOUR converted images, then export it.
#   DATA_PATH=data/my_tfr ARCH_JSON=runs/custom_macro_search/arch.json IMAGE_SIZE=96 \
#     scripts/custom_macro_final.sh --child_num_layers=12 --child_out_filters=36
# (the final preset is the 24-layer network: pass the layer count your search used.)
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
ARCH_JSON=${ARCH_JSON:?set ARCH_JSON to a search output arch.json}
BATCH_SIZE=${BATCH_SIZE:-32}
exec python -m enas_tf2.cli.cnn_main --config=cifar10_macro_final --dataset=tfrecord \
  --arch_json="$ARCH_JSON" --data_path="$DATA_PATH" --image_size="${IMAGE_SIZE:-96}" \
  --output_dir="${OUTPUT_DIR:-runs/custom_macro_final}" --batch_size="$BATCH_SIZE" \
  --eval_batch_size="$BATCH_SIZE" --num_epochs="${NUM_EPOCHS:-310}" "$@"
