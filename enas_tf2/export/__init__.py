"""Export and prediction: a trained run directory → SavedModel (+ .keras, JSON side files) → predictions.

  trained_run.py     read run_config.json and restore a trained image network (best/ before ckpt/)
  saved_model.py     `export_run(train_dir, export_dir)`: picks by the run's task; image signatures
                     with preprocessing inside
  predictor.py       `Predictor(model_dir).predict_files(paths, top_k)` on an image export
  lm_run.py          restore a trained language model and its vocabulary (enas-ptb final runs)
  lm_saved_model.py  language-model signatures: per-line perplexity and next words, vocabulary inside
  lm_predictor.py    `LmPredictor(model_dir).perplexity(lines)` / `.next_words(prefixes, k)`
"""
