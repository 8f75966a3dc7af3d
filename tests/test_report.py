"""Search report: health checks on synthetic numbers, summary.json and report.html of hand-made
run folders (old and new row formats, an accuracy and a perplexity task), and the page in a real
headless browser when Chromium is installed."""

import json
import logging
import math
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from enas_tf2.report import health, write_search_outputs
from enas_tf2.report.run_folder import RunFolder
from enas_tf2.report.summary import SearchSummary
from enas_tf2.report.svg_chart import nice_ticks
from enas_tf2.search_space.micro.arch import MicroArch

# docs/enas_reference.md §1.2's op table, in id order (written here, not read from the code under test).
OP_NAMES = ("sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3", "identity")
PUBLISHED = ("0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 "
             "1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1")
PLOTS = {"plot-reward", "plot-reward-samples", "plot-entropy", "plot-child-loss",
         "plot-child-metric", "plot-eval", "plot-op-hist", "plot-throughput", "plot-derive"}


# ---- health checks -------------------------------------------------------------------------
def test_entropy_collapse_threshold():
    assert health.entropy_collapse([14.0, 9.0, 1.5]) is None          # 1.5 >= 1.4
    w = health.entropy_collapse([14.0, 9.0, 1.3, None])
    assert w.code == "entropy_collapsed" and "1.3" in w.message and "\n" not in w.message
    assert health.entropy_collapse([5.0]) is None


def test_op_and_passthrough_dominance():
    assert health.op_dominance({"a": 6, "b": 4}) is None               # exactly 60%: not more
    assert health.op_dominance({"a": 7, "b": 3}).code == "op_dominates"
    assert health.op_dominance({"a": 5}) is None                       # too few decisions
    ops = {"sep_conv_3x3": 2, "sep_conv_5x5": 1, "avg_pool_3x3": 4, "max_pool_3x3": 3,
           "identity": 2}
    w = health.passthrough_dominance(ops)                              # 9 / 12 = 75%
    assert w.code == "passthrough_ops_dominate" and "75%" in w.message
    ops["sep_conv_3x3"] = 4                                            # 9 / 14 = 64%
    assert health.passthrough_dominance(ops) is None
    assert health.skip_dominance(0.85).code == "skips_dominate"
    assert health.skip_dominance(0.35) is None and health.skip_dominance(None) is None


def test_rewards_flat_uses_the_population_std():
    rewards = [0.5, 0.5005, 0.4995, 0.5, 0.5]
    assert np.std(rewards) < 1e-3
    assert health.rewards_flat(rewards).code == "rewards_flat"
    assert health.rewards_flat([0.5, 0.51, 0.49, 0.5]) is None
    assert health.rewards_flat([0.5, 0.5, 0.5]) is None                # fewer than 4 samples


def test_child_at_chance_both_directions():
    assert health.child_at_chance([0.3, 0.12, 0.14, 0.11], 0.1).code == "child_at_chance"
    assert health.child_at_chance([0.1, 0.12, 0.16], 0.1) is None      # 0.16 > 1.5 * 0.1
    assert health.child_at_chance([0.1], None) is None
    assert health.child_at_chance([9000.0, 8000.0], 10000, higher_is_better=False) is not None
    assert health.child_at_chance([9000.0, 300.0], 10000, higher_is_better=False) is None


def test_nice_ticks_cover_the_range():
    for lo, hi in ((0.2, 0.53), (19.5151, 19.516), (1, 8), (-3.2, 7.9), (300, 308)):
        ticks = nice_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi and 3 <= len(ticks) <= 12
        steps = np.diff(ticks)
        assert np.allclose(steps, steps[0])
        mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
        assert any(abs(mantissa - m) < 1e-6 for m in (1, 2, 5))


# ---- hand-made run folders ------------------------------------------------------------------
def _write_run(path, *, epochs=4, per_epoch=6, op_hist=False, ppl=False, entropy_end=13.0,
               flat=False, child_metric=None, skip_rate=None):
    """A search folder in the format of the search loop (progress, archs, arch.json)."""
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    archs, progress, controller = [], [], {}
    for i in range(epochs):
        e = i + 1          # the search loop numbers epochs from 1, as its log lines do
        rewards = [0.5] * per_epoch if flat else list(0.2 + 0.05 * i + 0.03 * rng.random(per_epoch))
        for k in range(per_epoch):
            arch = MicroArch.random(5, seed=100 * i + k)
            controller.setdefault(e, []).append(arch.tokens())
            archs.append({"epoch": e, "kind": "controller", "tokens": arch.tokens(),
                          "reward": rewards[k]})
        for k in range(3):
            archs.append({"epoch": e, "kind": "epoch_sample",
                          "tokens": MicroArch.random(5, seed=7000 + k).tokens(),
                          "reward": 0.3 + 0.01 * k + 0.02 * i})
        metric = child_metric[i] if child_metric else 0.2 + 0.1 * i
        row = {"epoch": e, "child_loss": 2.0 - 0.2 * i, "img_per_s": 300.0 + i,
               "reward_mean": float(np.mean(rewards)), "clip_rate": 0.0,
               "entropy": 14.0 + (entropy_end - 14.0) * i / max(1, epochs - 1),
               "step": 50 * e, "baseline": 0.2 + 0.04 * i, "seconds": 10.5}
        if ppl:
            row.update(child_ppl=metric, valid_ppl=metric * 1.1)
        else:
            row.update(child_acc=metric, valid_acc=metric - 0.05, test_acc=None)
        if op_hist:
            row["op_hist"] = {"identity": 999}   # deliberately not the archs' counts
        if skip_rate is not None:
            row["skip_rate"] = skip_rate[i]
        progress.append(row)
    ctrl = [0.6, 0.62, 0.58, 0.61]
    rand = [0.5, 0.49, 0.52, 0.55]
    archs += [{"epoch": epochs, "kind": "derive", "tokens": PUBLISHED, "reward": r} for r in ctrl]
    archs += [{"epoch": epochs, "kind": "derive_random", "tokens": PUBLISHED, "reward": r}
              for r in rand]
    with open(os.path.join(path, "progress.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in progress)
    with open(os.path.join(path, "archs.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in archs)
    obj = MicroArch.from_tokens(PUBLISHED).to_json()
    obj.update(reward=0.62, derive={"num_samples": 4, "epoch": epochs,
                                    "score": "perplexity" if ppl else "accuracy"})
    with open(os.path.join(path, "arch.json"), "w") as f:
        json.dump(obj, f)
    return controller, ctrl, rand


def test_plots_number_epochs_as_the_logs_do(tmp_path, monkeypatch):
    """The search writes epoch 1 for the first epoch; the plots' x axis must say 1 too."""
    from enas_tf2.report import html
    _write_run(str(tmp_path), epochs=3, op_hist=True, skip_rate=[0.1, 0.2, 0.3])
    s = SearchSummary(RunFolder(str(tmp_path)), {"num_classes": 10})
    seen = []
    monkeypatch.setattr(html, "line_chart", lambda _id, _t, series, **k: seen.extend(
        xs for _, xs, _ in series) or "")
    monkeypatch.setattr(html, "stacked_bars", lambda _id, _t, xs, _s: seen.append(xs) or "")
    html.plots(s)
    assert seen and all(min(xs) == 1 and max(xs) == 3 for xs in seen if len(xs)), seen


def _op_counts(token_strings):
    """Op counts from raw tokens: the op ids sit at positions 1 and 3 of every group of 4."""
    ids = np.concatenate([np.array(t.split(), int).reshape(-1, 4)[:, [1, 3]].ravel()
                          for t in token_strings])
    counts = np.bincount(ids, minlength=5)
    return {name: int(counts[i]) for i, name in enumerate(OP_NAMES)}


def test_summary_numbers_match_hand_computation(tmp_path):
    controller, ctrl, rand = _write_run(str(tmp_path))
    s = SearchSummary(RunFolder(str(tmp_path)), {"num_classes": 10, "examples_per_step": 32})
    for epoch, tokens in controller.items():
        assert s.op_hist[epoch] == _op_counts(tokens)
    data = s.to_json()
    cmp_ = data["comparison"]
    assert cmp_["controller_mean_reward"] == pytest.approx(np.mean(ctrl))
    assert cmp_["random_mean_reward"] == pytest.approx(np.mean(rand))
    assert cmp_["controller_minus_random"] == pytest.approx(np.mean(ctrl) - np.mean(rand))
    assert cmp_["controller_beats_random"] is True and cmp_["random_best_reward"] == 0.55
    assert cmp_["controller_better_than_random_mean"] == 1.0
    assert data["cost"] == {"epochs": 4, "steps": 200, "wall_seconds": 42.0, "wall_time": "42s",
                            "images_seen": 200 * 32, "controller_samples": 24}
    assert data["best"]["tokens"] == " ".join(PUBLISHED.split()) and data["best"]["reward"] == 0.62
    assert data["last"]["child_acc"] == pytest.approx(0.5)
    assert data["warnings"] == []


def test_logged_op_histogram_wins_over_parsing(tmp_path):
    _write_run(str(tmp_path), op_hist=True)
    s = SearchSummary(RunFolder(str(tmp_path)))
    assert all(h == {"identity": 999.0} for h in s.op_hist.values())
    assert [w.code for w in s.warnings] == ["op_dominates", "passthrough_ops_dominate"]


def test_unhealthy_run_warns_in_summary_and_page(tmp_path, caplog, monkeypatch):
    # A CLI run earlier in this process may have turned propagation off (its own handler).
    monkeypatch.setattr(logging.getLogger("enas_tf2"), "propagate", True)
    _write_run(str(tmp_path), entropy_end=0.5, flat=True, child_metric=[0.1, 0.11, 0.09, 0.12])
    with caplog.at_level("WARNING", logger="enas_tf2"):
        warnings = write_search_outputs(str(tmp_path), task={"num_classes": 10})
    codes = [w.code for w in warnings]
    assert codes == ["entropy_collapsed", "rewards_flat", "child_at_chance"]
    data = json.load(open(tmp_path / "summary.json"))
    assert [w["code"] for w in data["warnings"]] == codes
    assert data["task"]["num_classes"] == 10
    assert sum("warning: " in r.getMessage() for r in caplog.records) == 3
    page = open(tmp_path / "report.html").read()
    assert page.count('class="warning"') == 3
    # The saved task facts are reused by a later on-demand report.
    again = write_search_outputs(str(tmp_path), log=False)
    assert [w.code for w in again] == codes


def test_perplexity_run_reads_lower_as_better(tmp_path):
    _write_run(str(tmp_path), ppl=True, child_metric=[900.0, 500.0, 300.0, 200.0])
    s = SearchSummary(RunFolder(str(tmp_path)), {"vocab_size": 10000})
    assert s.task["score"] == "perplexity" and s.task["higher_is_better"] is False
    assert s.train_metric_name() == "child_ppl" and s.chance() == 10000
    cmp_ = s.comparison()     # derive "rewards" are perplexities here: the controller's are worse
    assert cmp_["controller_beats_random"] is False
    assert cmp_["controller_best_reward"] == 0.58 and cmp_["random_best_reward"] == 0.49
    assert s.to_json()["cost"]["tokens_seen"] is None


class _PageParser(HTMLParser):
    """Collects figure ids with the SVG elements inside them, and any external reference."""

    def __init__(self):
        super().__init__()
        self.figures, self.external, self.tags, self._open = {}, [], set(), None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "figure":
            self._open = attrs.get("id")
            self.figures[self._open] = {"class": attrs.get("class"), "svg": 0, "marks": 0}
        elif self._open and tag == "svg":
            self.figures[self._open]["svg"] += 1
        elif self._open and tag in ("polyline", "circle", "rect", "g"):
            self.figures[self._open]["marks"] += 1
        for key in ("src", "href"):
            if key in attrs:
                self.external.append(attrs[key])

    def handle_endtag(self, tag):
        if tag == "figure":
            self._open = None


def test_report_page_has_every_plot_and_no_external_resource(tmp_path):
    _write_run(str(tmp_path))
    write_search_outputs(str(tmp_path), task={"num_classes": 10}, log=False)
    for name in ("arch.png", "arch.svg", "summary.json", "report.html"):
        assert (tmp_path / name).exists(), name
    parser = _PageParser()
    parser.feed(open(tmp_path / "report.html", encoding="utf-8").read())
    plots = {k for k, v in parser.figures.items() if v["class"] == "plot"}
    assert plots == PLOTS
    for fid, fig in parser.figures.items():
        assert fig["svg"] == 1 and fig["marks"] > 3, fid
    assert parser.figures["arch-picture"]["svg"] == 1
    assert parser.figures["arch-picture"]["marks"] >= 2 * 18   # every node of both cells
    assert parser.external == [] and not {"script", "link", "img", "iframe"} & parser.tags


def test_report_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    _write_run(str(tmp_path))
    write_search_outputs(str(tmp_path), task={"num_classes": 10}, log=False)
    url = "file://" + str(tmp_path / "report.html")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    # The DOM the browser built: every plot figure survived parsing with its chart.
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout
    parser = _PageParser()
    parser.feed(dom)
    assert {k for k, v in parser.figures.items() if v["class"] == "plot"} == PLOTS
    shot = tmp_path / "shot.png"
    subprocess.run(common + ["--window-size=1400,2600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (2600, 1400, 3)
    colours = {tuple(p) for p in img.reshape(-1, 3)[::5]}
    # Drawn, not blank: the cell picture's conv blue and the charts' first line colour show.
    assert (0x90, 0xCA, 0xF9) in colours and (0x1F, 0x77, 0xB4) in colours
    assert len(colours) > 200


def test_long_search_page_stays_light(tmp_path):
    # 40 epochs x 300 controller samples: the sample plot shows an even subset, all epochs kept.
    _write_run(str(tmp_path), epochs=40, per_epoch=300, op_hist=True)
    write_search_outputs(str(tmp_path), log=False)
    page = open(tmp_path / "report.html", encoding="utf-8").read()
    start = page.index('id="plot-reward-samples"')
    figure = page[start:page.index("</figure>", start)]
    points = figure.count("<circle")
    assert 40 * 50 <= points <= 4000 and "at most 100 per epoch" in figure
    assert len(page) < 2_000_000


def test_logged_skip_rate_is_plotted_and_checked(tmp_path):
    _write_run(str(tmp_path), skip_rate=[0.4, 0.6, 0.8, 0.9])
    warnings = write_search_outputs(str(tmp_path), log=False)
    assert [w.code for w in warnings] == ["skips_dominate"]
    s = SearchSummary(RunFolder(str(tmp_path)))
    assert s.skip_rate == {1: 0.4, 2: 0.6, 3: 0.8, 4: 0.9}
    parser = _PageParser()
    parser.feed(open(tmp_path / "report.html", encoding="utf-8").read())
    assert {k for k, v in parser.figures.items() if v["class"] == "plot"} == \
        PLOTS | {"plot-skip-rate"}
