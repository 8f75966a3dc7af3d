"""`enas-ptb` end to end on the real Penn Treebank: a search killed with kill -9 and resumed; the
PUBLISHED enas_lm cell (narrowed to 16 units) trained from the command line, exported, reloaded
in a fresh process with TensorFlow alone and checked against a hand computation of its
perplexity; `enas-predict --text`; one `error:` line for bad input."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from cli_runner import error_lines, run_cli

PUBLISHED = "0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2"
TINY = ["--child_lstm_hidden_size=16", "--batch_size=8", "--eval_batch_size=8",
        "--max_eval_batches=2", "--log_every=2"]
TINY_SEARCH = ["--config=ptb_rnn_search.smoke", "--child_rhn_depth=4", "--max_steps_per_epoch=4",
               "--controller_train_steps=2", "--controller_num_aggregate=2",
               "--derive_num_samples=3"] + TINY


def _epochs(out):
    path = os.path.join(out, "progress.jsonl")
    return [json.loads(line)["epoch"] for line in open(path)] if os.path.exists(path) else []


@pytest.mark.slow   # about 30 s of CPU; resuming itself is the generic loop's (test_search_cli)
def test_ptb_search_is_killed_resumes_and_writes_arch(ptb_dir, tmp_path):
    out = str(tmp_path / "search")
    args = TINY_SEARCH + [f"--data_path={ptb_dir}", f"--output_dir={out}", "--num_epochs=2"]
    proc = subprocess.Popen([sys.executable, "-m", "enas_tf2.cli.ptb_main", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "epoch 2/2 step 2/4" in line:
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert _epochs(out) == [1]
    assert not os.path.exists(os.path.join(out, "arch.json"))

    done = run_cli("ptb_main", args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in done.stderr and "at epoch 1" in done.stderr
    assert _epochs(out) == [1, 2]
    rows = [json.loads(line) for line in open(os.path.join(out, "progress.jsonl"))]
    assert [r["step"] for r in rows] == [4, 8]
    for row in rows:
        # Perplexities are exp of a mean NLL over a 10,000-word vocabulary: finite, > 1.
        assert 1.0 < row["valid_ppl"] < 1e5 and 0.0 < row["reward_mean"] < 80.0
    arch = json.load(open(os.path.join(out, "arch.json")))
    assert arch["search_space"] == "rnn" and arch["cell_variant"] == "enas_lm"
    assert len(arch["tokens"].split()) == 2 * 3          # depth 4 = node 0 + 3 searched nodes
    for name in ("arch.png", "summary.json", "report.html"):
        assert os.path.exists(os.path.join(out, name)), name
    assert os.listdir(os.path.join(out, "tensorboard"))


@pytest.fixture(scope="module")
def exported(ptb_dir, tmp_path_factory):
    """(train_dir, export_dir) of the published cell trained for one short epoch."""
    root = tmp_path_factory.mktemp("ptb_final")
    train_dir, export_dir = str(root / "final"), str(root / "export")
    train = run_cli("ptb_main", [f"--child_fixed_arc={PUBLISHED}", "--config=ptb_rnn_final.smoke",
                                 f"--data_path={ptb_dir}", f"--output_dir={train_dir}",
                                 "--num_epochs=1", "--max_steps_per_epoch=6"] + TINY)
    assert train.returncode == 0, train.stderr[-3000:]
    export = run_cli("export_main", [f"--output_dir={train_dir}", f"--export_dir={export_dir}"])
    assert export.returncode == 0, export.stderr[-3000:]
    assert "next_words" in export.stdout
    return train_dir, export_dir


def test_final_run_records_what_export_needs(exported, ptb_dir):
    train_dir, _ = exported
    config = json.load(open(os.path.join(train_dir, "run_config.json")))
    assert config["task"] == "language_model" and config["arch"]["tokens"] == PUBLISHED
    space = config["space_config"]
    assert space["num_nodes"] == 8 and space["hidden_size"] == space["embed_size"] == 16
    assert space["alpha"] == 0.7                          # the final recipe's, not the search's
    vocab = config["data"]["vocab"]
    train_words = set(open(os.path.join(ptb_dir, "ptb.train.txt")).read().split())
    assert vocab == sorted(train_words | {"<eos>"}) and len(vocab) == 10_000
    result = json.load(open(os.path.join(train_dir, "result.json")))
    assert result["epochs"] == 1 and 1.0 < result["test_ppl"] < 1e5


# Run in a fresh interpreter: only TensorFlow, no enas_tf2.
_RELOAD = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
lines = json.loads(sys.argv[2])
score = model.signatures["serving_default"](lines=tf.constant(lines))
nxt = model.signatures["next_words"](prefix=tf.constant(lines), k=tf.constant(3))
print(json.dumps({"enas_loaded": any(m.startswith("enas_tf2") for m in sys.modules),
                  **{k: v.numpy().tolist() for k, v in score.items()},
                  "words": [[w.decode() for w in row] for row in nxt["words"].numpy()],
                  "probabilities": nxt["probabilities"].numpy().tolist(),
                  "next_unknown": nxt["unknown_words"].numpy().tolist()}))
"""


def _reference(train_dir, export_dir, line):
    """Log-probability of ``line`` + <eos> read after <eos> from the zero state, and the
    next-word distribution after it, from the restored Keras network fed ids looked up here."""
    import keras

    # Registers the network class for keras.saving explicitly: the import hook of
    # `enas_tf2.keras_objects` misses Keras when TensorFlow imported it first (another test).
    from enas_tf2.search_space.rnn.net import RnnLM
    config = json.load(open(os.path.join(train_dir, "run_config.json")))
    vocab = config["data"]["vocab"]
    index = {w: i for i, w in enumerate(vocab)}
    ids, unknown = [], 0
    for word in line.split():
        if word not in index and word.lower() not in index:
            unknown += 1
        ids.append(index.get(word, index.get(word.lower(), index["<unk>"])))
    eos = index["<eos>"]
    net = keras.saving.load_model(os.path.join(export_dir, "model.keras"))
    assert isinstance(net, RnnLM)
    inputs = np.array([[eos] + ids], np.int32)
    logits, _ = net(inputs, np.zeros([1, config["space_config"]["hidden_size"]], np.float32))
    logits = np.asarray(logits, np.float64)[0]
    log_softmax = logits - logits.max(-1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
    targets = ids + [eos]
    log_prob = float(sum(log_softmax[t, w] for t, w in enumerate(targets)))
    return log_prob, np.exp(log_softmax[-1]), unknown, vocab


def test_export_reloads_with_tensorflow_alone_and_scores_real_text(exported, ptb_dir):
    train_dir, export_dir = exported
    sentence = open(os.path.join(ptb_dir, "ptb.test.txt")).readline().strip()
    assert sentence == "no it was n't black monday"
    lines = [sentence, "The Stock market XYZZY fell", ""]
    proc = subprocess.run([sys.executable, "-c", _RELOAD, export_dir, json.dumps(lines)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["enas_loaded"] is False
    # Scored together (padded to one batch), each line equals its own hand computation.
    for i, line in enumerate(lines):
        log_prob, next_probs, unknown, vocab = _reference(train_dir, export_dir, line)
        tokens = len(line.split()) + 1
        assert out["tokens"][i] == tokens and out["unknown_words"][i] == unknown
        assert out["next_unknown"][i] == unknown
        np.testing.assert_allclose(out["log_prob"][i], log_prob, rtol=1e-4)
        np.testing.assert_allclose(out["perplexity"][i], np.exp(-log_prob / tokens), rtol=1e-4)
        top = np.argsort(-next_probs, kind="stable")[:3]
        assert out["words"][i] == [vocab[j] for j in top]
        np.testing.assert_allclose(out["probabilities"][i], next_probs[top], rtol=1e-4)
    assert out["unknown_words"][1] == 1                   # XYZZY; The/Stock fold to the/stock


def test_enas_predict_text_prints_perplexity_and_next_words(exported, ptb_dir):
    from enas_tf2.tasks.language_model.predictor import LmPredictor
    _, export_dir = exported
    sentence = open(os.path.join(ptb_dir, "ptb.test.txt")).readline().strip()
    (entry,) = LmPredictor(export_dir).perplexity([sentence])
    assert entry["line"] == sentence and entry["tokens"] == 7
    text = run_cli("predict_main", [f"--model_dir={export_dir}", f"--text={sentence}"])
    assert text.returncode == 0, text.stderr[-2000:]
    assert f"{entry['perplexity']:.2f}" in text.stdout
    # No TensorFlow noise around the output; only the export's own health warning (6 windows of
    # training leave the perplexity near the vocabulary size, which the final run flagged).
    assert all(line.startswith("warning: the network's training metric stays at chance")
               for line in text.stderr.splitlines()), text.stderr
    assert "warning: the network's training metric stays at chance" in text.stderr
    nxt = run_cli("predict_main", [f"--model_dir={export_dir}", "--text=the stock market",
                                   "--next_words=4", "--json"])
    assert nxt.returncode == 0, nxt.stderr[-2000:]
    (result,) = json.loads(nxt.stdout)
    assert result["prefix"] == "the stock market" and len(result["next_words"]) == 4
    probs = [w["probability"] for w in result["next_words"]]
    assert probs == sorted(probs, reverse=True) and 0.0 < sum(probs) <= 1.0


BAD = [
    (["--child_fixed_arc=0 2 1 0 2 9"], "token 6 (node 3, func) is 9"),                  # enas_lm
    (["--child_fixed_arc=0 0 0 1 1 7 1"], "token 6 (node 3, prev) is 7"),               # original
    (["--child_fixed_arc=0"], "expected f_0 then (prev, func)"),
    ([f"--child_fixed_arc={PUBLISHED}", "--child_rhn_depth=4"], "num_nodes=3"),
    (["--child_drop_e=1.5"], "--child_drop_e=1.5 is a dropout RATE"),
    (["--config=cifar10_micro_search"], "is a micro preset"),
    (["--arch_json=/nonexistent/arch.json"], "cannot read --arch_json"),
]


@pytest.mark.parametrize("extra,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_exit_2(extra, message, ptb_dir, tmp_path, monkeypatch, capsys):
    from enas_tf2.cli import ptb_main
    monkeypatch.setattr(sys, "argv", ["enas-ptb", f"--data_path={ptb_dir}",
                                      f"--output_dir={tmp_path}/run"] + extra)
    with pytest.raises(SystemExit) as exit_info:
        ptb_main.run()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert message in line, line
    assert "Traceback" not in err


def test_missing_data_folder_is_one_line(tmp_path):
    proc = run_cli("ptb_main", TINY_SEARCH + [f"--data_path={tmp_path}/nothing",
                                              f"--output_dir={tmp_path}/run"], timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = error_lines(proc)
    assert "nothing" in line and "does not exist" in line
    assert "Traceback" not in proc.stderr


def test_lm_export_without_text_is_one_line(exported, monkeypatch, capsys):
    from enas_tf2.cli import predict_main
    _, export_dir = exported
    with pytest.raises(SystemExit) as exit_info:
        predict_main.run(["enas-predict", f"--model_dir={export_dir}"])
    assert exit_info.value.code == 2
    (line,) = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert "no text given" in line


def test_flags_override_the_preset_and_an_arc_picks_the_final_preset():
    from enas_tf2.cli import ptb_config as ptb_flags
    fl = ptb_flags.FLAGS
    fl.unparse_flags()
    fl(["enas-ptb", "--child_lstm_hidden_size=64", "--child_rhn_depth=5", "--child_drop_x=0.5",
        "--seed=3", "--child_bptt_steps=20"])
    parsed = ptb_flags.to_experiment(fl)
    cfg = parsed["config"]
    assert cfg.run.output_dir == "runs/ptb_rnn_search" and cfg.controller.training
    assert cfg.space_config.hidden_size == cfg.space_config.embed_size == 64   # tied softmax
    assert cfg.space_config.num_nodes == 4 and cfg.space_config.drop_x == 0.5
    assert cfg.space_config.drop_o == 0.75                                     # preset's
    assert cfg.data.bptt == 20 and cfg.data.seed == cfg.run.seed == 3
    assert parsed["arch_shaped"]
    fl.unparse_flags()
    fl(["enas-ptb", f"--child_fixed_arc={PUBLISHED}"])
    parsed = ptb_flags.to_experiment(fl)
    assert parsed["config"].run.output_dir == "runs/ptb_rnn_final"
    assert parsed["config"].space_config.hidden_size == 800 and not parsed["arch_shaped"]
    assert parsed["config"].optim.grad_bound == 0.25
    fl.unparse_flags()


def test_help_lists_the_ptb_flags_grouped(monkeypatch, capsys):
    from enas_tf2.cli import ptb_main
    monkeypatch.setattr(sys, "argv", ["enas-ptb", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        ptb_main.run()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for title in ("What to run and where:", "Data:", "Child language model and its training:",
                  "Controller:"):
        assert title in out
    assert "--child_rhn_depth" in out and "--logtostderr" not in out and "Other:" not in out


def test_export_of_a_run_without_vocabulary_is_refused(exported, tmp_path):
    import shutil

    from enas_tf2.errors import EnasError
    from enas_tf2.export.saved_model import export_run
    train_dir, _ = exported
    old = tmp_path / "old_run"
    shutil.copytree(train_dir, old)
    config = json.load(open(old / "run_config.json"))
    del config["data"]["vocab"]
    json.dump(config, open(old / "run_config.json", "w"))
    with pytest.raises(EnasError, match="no data.vocab"):
        export_run(str(old), str(tmp_path / "export"))
    assert not (tmp_path / "export").exists()
