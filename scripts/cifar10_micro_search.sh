#!/usr/bin/env bash
# Micro (cell) search on CIFAR-10 with the hyper-parameters of the authors' cifar10_micro_search.sh.
# Differences: channels-last (--data_format is accepted but ignored), the sampled op is the one
# computed, reduction cells as in the paper (see README "Decisions"). Extra flags are passed on:
#   scripts/cifar10_micro_search.sh --strategy=mirrored
# Rerunning resumes from OUTPUT_DIR; add --reset_output_dir to start over.
set -euo pipefail
DATA_PATH=${DATA_PATH:-data/cifar10}
OUTPUT_DIR=${OUTPUT_DIR:-runs/cifar10_micro_search}

python -m enas_tf2.cli.cnn_main \
  --search_for=micro \
  --dataset=cifar10 \
  --data_path="$DATA_PATH" \
  --output_dir="$OUTPUT_DIR" \
  --valid_size=5000 \
  --batch_size=160 \
  --num_epochs=150 \
  --log_every=50 \
  --eval_every_epochs=1 \
  --child_num_layers=6 \
  --child_out_filters=20 \
  --child_num_branches=5 \
  --child_num_cells=5 \
  --child_keep_prob=0.90 \
  --child_drop_path_keep_prob=0.60 \
  --child_l2_reg=1e-4 \
  --child_lr_cosine \
  --child_lr_max=0.05 \
  --child_lr_min=0.0005 \
  --child_lr_T_0=10 \
  --child_lr_T_mul=2 \
  --controller_training \
  --controller_entropy_weight=0.0001 \
  --controller_train_every=1 \
  --controller_num_aggregate=10 \
  --controller_train_steps=30 \
  --controller_lr=0.0035 \
  --controller_tanh_constant=1.10 \
  --controller_op_tanh_reduce=2.5 \
  "$@"
