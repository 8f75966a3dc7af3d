"""enas_tf2: ENAS (Pham et al., ICML 2018) on Keras 3 and TensorFlow 2.

Package map (read top-down):
  data/          readers (CIFAR-10, PTB, image folders), TFRecord conversion, tf.data pipelines
  search_space/  the ONLY place that knows what architecture integers mean (micro, later macro/rnn)
  controller/    space-independent LSTM policy machinery and REINFORCE maths
  layers/        Keras layers shared by weight-shared children and fixed final models
  training/      strategy, checkpointing, progress logging, search and final-training loops
  export/        SavedModel export and prediction
  cli/           absl flag definitions (one place) and thin `main`s for the console scripts
"""

__version__ = "0.1.0"
