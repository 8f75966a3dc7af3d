"""Image classification: the task of the micro, macro and nb201 spaces.

  task.py       `ImageClassificationTask`: data, loss, accuracy, reward, optimizer
  serving.py    `ImageServing`: the export's signatures (image bytes -> probabilities)
  predictor.py  `Predictor`: top-k classes of image files from an export
"""

from enas_tf2.tasks.image_classification.task import ImageClassificationTask

__all__ = ["ImageClassificationTask"]
