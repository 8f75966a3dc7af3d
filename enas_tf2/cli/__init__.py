"""Console scripts: absl flags and thin `main`s of enas-convert, enas-cnn, enas-export, enas-predict."""
