#!/usr/bin/env bash
# The whole ENAS loop in a few minutes on a CPU, offline: convert the 300 flower photos that ship
# inside the package (CC-BY, see enas_tf2/sample_data/README.md), a short micro search, final
# training of the architecture it found, SavedModel export, and a prediction on a photo.
#   scripts/quickstart.sh [RUNS_DIR]          (default: runs/quickstart, relative to where you are)
# The settings are deliberately tiny: this shows the workflow, it does not reproduce the paper
# (for that: scripts/cifar10_micro_search.sh and scripts/cifar10_micro_final.sh).
set -euo pipefail
RUNS=${1:-runs/quickstart}

if ! python -c "import enas_tf2" 2>/dev/null; then
  echo "error: the enas_tf2 package is not installed in this Python ($(command -v python));" \
       "install it first: pip install -e . (from the repository) or pip install enas_tf2" >&2
  exit 2
fi
FLOWERS=$(python -c "from enas_tf2.sample_data import flowers_dir; print(flowers_dir())")
mkdir -p "$RUNS"
echo "== 1/5 convert the embedded photos ($FLOWERS) -> $RUNS/flowers_tfr"
if [[ ! -f "$RUNS/flowers_tfr/manifest.json" ]]; then
  python -m enas_tf2.cli.convert_main --source=image_folder --input="$FLOWERS" \
    --output_dir="$RUNS/flowers_tfr" --max_side=128
fi
COMMON=(--dataset=tfrecord --data_path="$RUNS/flowers_tfr" --image_size=64 --batch_size=32
        --eval_batch_size=30 --log_every=4 --child_num_layers=2 --child_out_filters=8)
echo "== 2/5 micro search (3 short epochs) -> $RUNS/search/arch.json"
python -m enas_tf2.cli.cnn_main --search_for=micro "${COMMON[@]}" --output_dir="$RUNS/search" \
  --num_epochs=3 --controller_train_steps=3 --controller_num_aggregate=5 --derive_num_samples=10
echo "== 3/5 final training of the found architecture (6 short epochs) -> $RUNS/final"
python -m enas_tf2.cli.cnn_main --search_for=micro "${COMMON[@]}" --output_dir="$RUNS/final" \
  --arch_json="$RUNS/search/arch.json" --num_epochs=6 --child_use_aux_heads \
  --child_drop_path_keep_prob=0.6 --nocontroller_training
echo "== 4/5 export a SavedModel that takes encoded images -> $RUNS/export"
python -m enas_tf2.cli.export_main --output_dir="$RUNS/final" --export_dir="$RUNS/export" \
  --overwrite
echo "== 5/5 predict a photo"
python -m enas_tf2.cli.predict_main --model_dir="$RUNS/export" --top_k=3 \
  "$FLOWERS/roses/10503217854_e66a804309.jpg"
