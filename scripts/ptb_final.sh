#!/usr/bin/env bash
# Final training of an RNN cell on Penn Treebank with the corrected enas_lm recipe (the
# `ptb_rnn_final` preset; docs/enas_reference.md §5.2): hidden 800, batch 64, variable BPTT
# around 35, SGD lr 20 scaled by length/35 with clip 0.25, enas_lm's final dropouts, alpha 0.7,
# NT-ASGD-style weight averaging, 3000 epochs. The published cell unless ARCH_JSON is set.
#   DATA_PATH=data/ptb [ARCH_JSON=runs/ptb_rnn_search/arch.json] scripts/ptb_final.sh
# Then: enas-export --output_dir=runs/ptb_rnn_final --export_dir=exports/ptb
set -euo pipefail
PUBLISHED="0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"
if [[ -n "${ARCH_JSON:-}" ]]; then ARCH=(--arch_json="$ARCH_JSON"); else ARCH=(--child_fixed_arc="$PUBLISHED"); fi
exec python -m enas_tf2.cli.ptb_main --config=ptb_rnn_final "${ARCH[@]}" \
  --data_path="${DATA_PATH:-data/ptb}" --output_dir="${OUTPUT_DIR:-runs/ptb_rnn_final}" "$@"
