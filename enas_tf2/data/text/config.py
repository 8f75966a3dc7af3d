"""`TextDataConfig`: where the language-model corpus is and how it is cut into windows."""

from __future__ import annotations

import dataclasses

from enas_tf2.errors import EnasError


@dataclasses.dataclass(frozen=True)
class TextDataConfig:
    """Language-model input settings (docs/enas_reference.md §5.2; defaults are enas_lm's search values).

    Attributes:
      data_path: folder with ``ptb.{train,valid,test}.txt``.
      batch_size: GLOBAL number of parallel training rows (enas_lm search 128, final 64); split
        over replicas, so it must be a multiple of the replica count.
      bptt: base window length (35). Training windows vary around it (`variable_length`);
        evaluation windows are exactly `bptt` long.
      eval_batch_size: rows of the validation pass and of the reward batches (enas_lm: the
        training batch size).
      test_batch_size: rows of the test pass (enas_lm: 1, i.e. the whole stream in one row).
      variable_length: enas_lm's random training window lengths (base bptt w.p. 0.95 else
        bptt / 2, then N(base, 5) truncated at 2 sigma); False: fixed `bptt` windows.
      seed: seeds the window lengths; epoch e's windows depend only on (seed, e).
    """
    data_path: str = ""
    batch_size: int = 128
    bptt: int = 35
    eval_batch_size: int = 128
    test_batch_size: int = 1
    variable_length: bool = True
    seed: int = 0

    def __post_init__(self):
        for name in ("batch_size", "bptt", "eval_batch_size", "test_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EnasError(f"text data {name} must be an integer >= 1, got {value!r}")
