#!/usr/bin/env bash
# The whole ENAS loop in a few minutes on a CPU: a short micro search on CIFAR-10, final training
# of the architecture it found, SavedModel export, and a prediction on a real image.
#   scripts/quickstart.sh [CIFAR10_PATH]     (default: data/cifar10; downloaded there when online)
# The settings are deliberately tiny (a few epochs, few steps): this shows the workflow, it does not
# reproduce the paper. For the real thing use scripts/cifar10_micro_search.sh and _final.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
CIFAR=${1:-data/cifar10}
RUNS=${RUNS:-runs/quickstart}

if ! python -c "import enas_tf2.data.images.cifar10 as c, sys; c.load_cifar10(sys.argv[1])" "$CIFAR" \
     >/dev/null 2>&1; then
  if [[ "$CIFAR" == "data/cifar10" ]]; then
    echo "CIFAR-10 not found in data/cifar10: trying to download it ..."
    if ! scripts/download_cifar10.sh data/cifar10; then
      echo "error: no CIFAR-10 here and no internet. Put the python batches (cifar-10-batches-py)" \
           "in data/cifar10/ or pass their folder: scripts/quickstart.sh /path/to/cifar10" >&2
      exit 2
    fi
  else
    echo "error: no CIFAR-10 batches found at $CIFAR (expected cifar-10-batches-py/ or" \
         "cifar-10-batches-bin/ inside, or the batch files themselves)" >&2
    exit 2
  fi
fi
mkdir -p "$RUNS"
echo "== 1/4 micro search (3 short epochs) -> $RUNS/search/arch.json"
python -m enas_tf2.cli.cnn_main --search_for=micro --dataset=cifar10 --data_path="$CIFAR" \
  --output_dir="$RUNS/search" --valid_size=500 --batch_size=32 --num_epochs=3 \
  --max_steps_per_epoch=20 --max_eval_batches=2 --log_every=10 \
  --child_num_layers=2 --child_out_filters=8 --controller_train_steps=3 \
  --controller_num_aggregate=5 --derive_num_samples=20
echo "== 2/4 final training of the found architecture (2 short epochs) -> $RUNS/final"
python -m enas_tf2.cli.cnn_main --search_for=micro --dataset=cifar10 --data_path="$CIFAR" \
  --arch_json="$RUNS/search/arch.json" --output_dir="$RUNS/final" --valid_size=500 \
  --batch_size=32 --num_epochs=2 --max_steps_per_epoch=30 --max_eval_batches=5 --log_every=10 \
  --child_num_layers=2 --child_out_filters=8 --child_use_aux_heads \
  --child_drop_path_keep_prob=0.6 --nocontroller_training
echo "== 3/4 export a SavedModel that takes encoded images -> $RUNS/export"
rm -rf "$RUNS/export"
python -m enas_tf2.cli.export_main --output_dir="$RUNS/final" --export_dir="$RUNS/export"
echo "== 4/4 predict a CIFAR-10 test image written as PNG"
python - "$CIFAR" "$RUNS/cifar_test_0.png" <<'EOF'
import sys
import tensorflow as tf
from enas_tf2.data.images.cifar10 import load_cifar10
data = load_cifar10(sys.argv[1])
tf.io.write_file(sys.argv[2], tf.io.encode_png(data.test_images[0]))
print(f"{sys.argv[2]}: true class {data.class_names[int(data.test_labels[0])]}")
EOF
python -m enas_tf2.cli.predict_main --model_dir="$RUNS/export" --top_k=3 "$RUNS/cifar_test_0.png"
