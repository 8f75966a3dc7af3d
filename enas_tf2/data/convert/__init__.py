"""The offline `enas-convert` library: image folders, CIFAR-10 or arrays to sharded TFRecords."""
