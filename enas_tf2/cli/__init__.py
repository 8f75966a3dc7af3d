"""Console scripts: absl flag definitions and thin `main`s (enas-convert, enas-cnn, enas-export, enas-predict)."""
