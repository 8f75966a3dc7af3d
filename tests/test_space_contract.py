"""Every registered search space passes the shared contract (`contracts.py`); a new space only
adds its `SpaceCase` here."""

import numpy as np
import pytest

from contracts import SpaceCase, run_space_contract
from enas_tf2.configs.base import DataConfig, OptimizerConfig
from enas_tf2.data.specs import ImageSpec


def _image_case(name, config, height=20, width=18, classes=3):
    from enas_tf2.tasks.image_classification import ImageClassificationTask
    rng = np.random.default_rng(0)
    batch = (rng.normal(size=(2, height, width, 3)).astype("float32"),
             rng.integers(0, classes, size=(2,)).astype("int32"))
    return SpaceCase(name=name, config=config, input_spec=ImageSpec(height, width, classes),
                     make_task=lambda: ImageClassificationTask(DataConfig(batch_size=2),
                                                               OptimizerConfig()),
                     batch=batch)


def _micro():
    from enas_tf2.search_space.micro.config import MicroConfig
    return _image_case("micro", MicroConfig(num_layers=1, num_cells=3, out_filters=4,
                                            use_aux_heads=True, drop_path_keep_prob=0.6))


def _macro():
    from enas_tf2.search_space.macro.config import MacroConfig
    return _image_case("macro", MacroConfig(num_layers=4, out_filters=4, keep_prob=0.8))


def _rnn():
    from enas_tf2.data.text.config import TextDataConfig
    from enas_tf2.search_space.rnn.config import RnnConfig
    from enas_tf2.data.specs import TokenSpec
    from enas_tf2.search_space.rnn.presets import SEARCH_OPTIMIZER
    from enas_tf2.tasks.language_model import LanguageModelTask
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 50, size=(2, 7)).astype("int32")     # 2 rows, 6 steps + target
    return SpaceCase(
        name="rnn", config=RnnConfig(num_nodes=3, embed_size=8, hidden_size=8),
        input_spec=TokenSpec(vocab_size=50),
        make_task=lambda: LanguageModelTask(TextDataConfig(batch_size=2, eval_batch_size=2,
                                                           test_batch_size=2, bptt=6),
                                            SEARCH_OPTIMIZER),
        batch={"tokens": tokens})


def _nb201():
    from enas_tf2.search_space.nb201.config import Nb201Config
    return _image_case("nb201", Nb201Config(num_layers=1, out_filters=4))


CASES = {"micro": _micro, "macro": _macro, "rnn": _rnn, "nb201": _nb201}


@pytest.mark.parametrize("name", sorted(CASES))
def test_space_contract(name, tmp_path):
    run_space_contract(CASES[name](), tmp_path)
