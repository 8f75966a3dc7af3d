"""Data: readers (CIFAR-10, PTB), the TFRecord format and converter, augmentation and tf.data input pipelines."""
