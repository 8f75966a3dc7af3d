#!/usr/bin/env bash
# RNN-cell search on Penn Treebank with the corrected enas_lm recipe (the `ptb_rnn_search` preset
# in enas_tf2/configs/presets.py; docs/enas_reference.md §5.2 lists the values): 10-node cells
# (node 0 + 9 searched), hidden 200, batch 128, variable BPTT around 35, SGD lr 20 scaled by
# length/35 with clip 0.1, controller Adam 5e-5 (10 samples x 25 updates per epoch), 600 epochs.
#   DATA_PATH=data/ptb scripts/ptb_search.sh [--flag=value ...]
# Extra flags override the preset, e.g. --num_epochs=10. Rerunning resumes.
set -euo pipefail
exec python -m enas_tf2.cli.ptb_main --config=ptb_rnn_search \
  --data_path="${DATA_PATH:-data/ptb}" --output_dir="${OUTPUT_DIR:-runs/ptb_rnn_search}" "$@"
