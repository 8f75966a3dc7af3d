"""Export and prediction: a trained run directory → SavedModel (+ .keras, JSON side files) → predictions.

  trained_run.py   read run_config.json and restore the trained network (best/ before ckpt/)
  saved_model.py   `export_run(train_dir, export_dir)`: serving signatures with preprocessing inside
  predictor.py     `Predictor(model_dir).predict_files(paths, top_k)` on an export directory
"""
