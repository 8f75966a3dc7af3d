#!/usr/bin/env bash
# A CPU-sized RNN-cell search on Penn Treebank (about 25 minutes on a shared 2-core CPU: one epoch
# measured 138 s at load 6-7, deriving 66 s):
# the corrected enas_lm search recipe (`ptb_rnn_search` preset: lr 20 scaled by length/35, clip
# 0.1, its dropouts and controller) on a narrower child and fewer, shorter epochs: hidden 64,
# batch 64, 10 epochs of 200 windows (about half a pass each), 10 controller updates of 5 samples
# per epoch, validation capped at 20 batches, 20 derive samples. For a test of the plumbing in a
# minute use --config=ptb_rnn_search.smoke instead.
#   DATA_PATH=data/ptb scripts/ptb_search_cpu.sh [--flag=value ...]
set -euo pipefail
exec python -m enas_tf2.cli.ptb_main --config=ptb_rnn_search_cpu \
  --data_path="${DATA_PATH:-data/ptb}" --output_dir="${OUTPUT_DIR:-runs/ptb_rnn_search_cpu}" "$@"
