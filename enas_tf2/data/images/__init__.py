"""Image input: CIFAR-10 batches and converted TFRecord folders streamed through one tf.data tail."""
