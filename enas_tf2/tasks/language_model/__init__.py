"""Language modelling: the task of the RNN cell space (Penn Treebank).

  task.py            `LanguageModelTask`: windows, loss, perplexity, reward, carried state
  weight_averager.py `WeightAverager`: enas_lm's NT-ASGD-style averaging in final training
  serving.py         `LmServing`: the export's signatures (text -> perplexity and next words)
  predictor.py       `LmPredictor`: score text and propose next words from an export
"""

from enas_tf2.tasks.language_model.task import LanguageModelTask

__all__ = ["LanguageModelTask"]
