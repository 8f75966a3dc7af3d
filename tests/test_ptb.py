"""PTB reader and BPTT windows (as `lm_pipeline` cuts them): real file counts and hand-computed
tiny layouts."""

import numpy as np
import pytest

from enas_tf2.data.text import lm_pipeline, ptb
from enas_tf2.errors import EnasError


@pytest.fixture(scope="module")
def real_ptb(ptb_dir):
    return ptb.load_ptb(str(ptb_dir))


def test_real_ptb_counts_and_vocabulary(real_ptb):
    # Token counts and vocabulary size published in shared/data/README.md.
    sizes = (len(real_ptb.train), len(real_ptb.valid), len(real_ptb.test))
    assert sizes == (929_589, 73_760, 82_430)
    assert len(real_ptb.vocab) == 10_000
    assert ptb.EOS in real_ptb.word_to_id and "<unk>" in real_ptb.word_to_id
    assert real_ptb.train.dtype == np.int32
    # One <eos> per line: 42,068 / 3,370 / 3,761 lines.
    eos = real_ptb.word_to_id[ptb.EOS]
    assert [int((s == eos).sum()) for s in (real_ptb.train, real_ptb.valid, real_ptb.test)] == \
        [42_068, 3_370, 3_761]
    assert all(real_ptb.word_to_id[w] == i for i, w in enumerate(real_ptb.vocab))


def test_real_ptb_first_words_round_trip(real_ptb, ptb_dir):
    with open(ptb_dir / "ptb.valid.txt", encoding="utf-8") as f:
        first_line = f.readline().split()
    decoded = [real_ptb.vocab[i] for i in real_ptb.valid[:len(first_line) + 1]]
    assert decoded == first_line + [ptb.EOS]


def test_tokenize_turns_newlines_into_eos():
    assert ptb.tokenize(" a b\nc  d \n") == ["a", "b", "<eos>", "c", "d", "<eos>"]


def _write_corpus(folder, train, valid, test):
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"ptb.{name}.txt").write_text(text, encoding="utf-8")


def test_tiny_corpus_ids_are_sorted_vocabulary(tmp_path):
    _write_corpus(tmp_path, "b a\nc a\n", "a c\n", "b\n")
    data = ptb.load_ptb(str(tmp_path))
    assert data.vocab == ["<eos>", "a", "b", "c"]
    np.testing.assert_array_equal(data.train, [2, 1, 0, 3, 1, 0])
    np.testing.assert_array_equal(data.valid, [1, 3, 0])
    np.testing.assert_array_equal(data.test, [2, 0])


def test_out_of_vocabulary_word_is_named(tmp_path):
    _write_corpus(tmp_path, "a b\n", "a zebra\n", "b\n")
    with pytest.raises(EnasError, match="'zebra' in ptb.valid.txt"):
        ptb.load_ptb(str(tmp_path))


def test_missing_file_and_folder_are_named(tmp_path):
    (tmp_path / "ptb.train.txt").write_text("a\n")
    with pytest.raises(EnasError, match="ptb.valid.txt"):
        ptb.load_ptb(str(tmp_path))
    with pytest.raises(EnasError, match="does not exist"):
        ptb.load_ptb(str(tmp_path / "nope"))


def test_batchify_rows_are_contiguous_stretches():
    out = ptb.batchify(np.arange(11), 3)
    np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    with pytest.raises(EnasError, match="too few"):
        ptb.batchify(np.arange(5), 3)


def _windows(dataset):
    return [element["tokens"].numpy() for element in dataset]


def test_eval_windows_hand_computed():
    """`lm_pipeline.eval_dataset` (validation, test and reward windows): each element holds
    ``bptt + 1`` ids per row, inputs ``[:, :-1]`` and next-word targets ``[:, 1:]``."""
    batched = ptb.batchify(np.arange(20), 2)          # rows 0..9 and 10..19
    windows = _windows(lm_pipeline.eval_dataset(batched, 3))   # (10 - 1) // 3 = 3 windows
    assert len(windows) == 3
    np.testing.assert_array_equal(windows[0], [[0, 1, 2, 3], [10, 11, 12, 13]])
    np.testing.assert_array_equal(windows[2], [[6, 7, 8, 9], [16, 17, 18, 19]])


class ScriptedRng:
    """Stands in for numpy's Generator with fixed draws, to hand-compute window lengths."""

    def __init__(self, uniforms, normals):
        self.uniforms, self.normals = list(uniforms), list(normals)

    def random(self):
        return self.uniforms.pop(0)

    def normal(self, loc, scale):
        assert scale == 5.0
        return loc + self.normals.pop(0)


def test_window_length_rules_hand_computed():
    # u < 0.95 -> base 35: 35 + 3.7 -> int 38.
    assert ptb.sample_window_length(35, ScriptedRng([0.1], [3.7])) == 38
    # u >= 0.95 -> base 17.5: 17.5 - 4.2 = 13.3 -> 13.
    assert ptb.sample_window_length(35, ScriptedRng([0.97], [-4.2])) == 13
    # Draws beyond 2 stddev (|z| > 10) are redrawn: 35 + 12 rejected, then 35 + 9.9 -> 44.
    assert ptb.sample_window_length(35, ScriptedRng([0.5], [12.0, 9.9])) == 44
    # The largest accepted draw, base + 10, stays under the bptt + 20 cap (kept from enas_lm).
    assert ptb.sample_window_length(10, ScriptedRng([0.5], [10.0])) == 20
    # Never below one id: base 1 - 9 -> int(-8) -> 1.
    assert ptb.sample_window_length(2, ScriptedRng([0.99], [-9.0])) == 1


def test_variable_train_windows_on_real_rows_cover_the_stream(real_ptb):
    """`lm_pipeline.train_dataset` (the training windows a search and a final run consume): one
    epoch of variable-length windows on real PTB rows is one exact pass, in order."""
    batched = ptb.batchify(real_ptb.valid, 16)
    steps = lm_pipeline.train_steps_per_epoch(batched.shape[1], 35, True)
    windows = _windows(lm_pipeline.train_dataset(batched, 35, True, seed=0).take(steps))
    xs = np.concatenate([w[:, :-1] for w in windows], axis=1)
    ys = np.concatenate([w[:, 1:] for w in windows], axis=1)
    np.testing.assert_array_equal(xs, batched[:, :-1])
    np.testing.assert_array_equal(ys, batched[:, 1:])
    lengths = np.array([w.shape[1] - 1 for w in windows])
    assert lengths.min() >= 7 and lengths.max() <= 46   # 17.5 - 10 and 35 + 10, +-1 % rescale
