"""Export and prediction, generic over tasks: a trained run directory -> SavedModel (+ .keras,
the architecture, the task's side files) -> predictions. The task supplies the signatures and the
predictor (`tasks/serving.py`); this package names no task.

  trained_run.py  read run_config.json and restore the trained network (best/ before ckpt/)
  saved_model.py  `export_run(train_dir, export_dir)`: SavedModel with the task's signatures
  predictor.py    `load_predictor(model_dir)`: the task's predictor of an export folder
"""
