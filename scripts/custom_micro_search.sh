#!/usr/bin/env bash
# Micro search on YOUR images (the fork's skin-lesion scenario) at any size, streamed from TFRecords.
#   enas-convert --source=image_folder --input=my_photos/ --output_dir=data/my_tfr --max_side=512
#   DATA_PATH=data/my_tfr IMAGE_SIZE=224 scripts/custom_micro_search.sh [--strategy=mirrored]
# Batch 32 at 224 px fits a 16 GB GPU with 6 layers x 20 filters; lower BATCH_SIZE if memory runs out.
set -euo pipefail
DATA_PATH=${DATA_PATH:?set DATA_PATH to an enas-convert output folder}
OUTPUT_DIR=${OUTPUT_DIR:-runs/custom_micro_search}
IMAGE_SIZE=${IMAGE_SIZE:-224}
BATCH_SIZE=${BATCH_SIZE:-32}

python -m enas_tf2.cli.cnn_main \
  --search_for=micro \
  --dataset=tfrecord \
  --data_path="$DATA_PATH" \
  --image_size="$IMAGE_SIZE" \
  --output_dir="$OUTPUT_DIR" \
  --batch_size="$BATCH_SIZE" \
  --eval_batch_size="$BATCH_SIZE" \
  --num_epochs=100 \
  --log_every=50 \
  --child_num_layers=6 \
  --child_out_filters=20 \
  --child_num_cells=5 \
  --child_keep_prob=0.90 \
  --child_l2_reg=1e-4 \
  --child_lr_cosine \
  --child_lr_max=0.05 \
  --child_lr_min=0.0005 \
  --child_lr_T_0=10 \
  --child_lr_T_mul=2 \
  --controller_entropy_weight=0.0001 \
  --controller_num_aggregate=10 \
  --controller_train_steps=30 \
  --controller_lr=0.0035 \
  --controller_tanh_constant=1.10 \
  --controller_op_tanh_reduce=2.5 \
  "$@"
