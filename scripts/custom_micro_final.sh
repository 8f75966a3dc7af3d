#!/usr/bin/env bash
# Final training of a found architecture on YOUR converted images (the `images_micro_final`
# preset), then export it.
#   DATA_PATH=data/my_tfr ARCH_JSON=runs/custom_micro_search/arch.json IMAGE_SIZE=224 \
#     scripts/custom_micro_final.sh
#   enas-export --output_dir=runs/custom_micro_final --export_dir=exports/my_model
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
ARCH_JSON=${ARCH_JSON:?set ARCH_JSON to a search output arch.json}
BATCH_SIZE=${BATCH_SIZE:-32}
exec python -m enas_tf2.cli.cnn_main --config=images_micro_final --arch_json="$ARCH_JSON" \
  --data_path="$DATA_PATH" --image_size="${IMAGE_SIZE:-224}" \
  --output_dir="${OUTPUT_DIR:-runs/custom_micro_final}" --batch_size="$BATCH_SIZE" \
  --eval_batch_size="$BATCH_SIZE" --num_epochs="${NUM_EPOCHS:-310}" "$@"
