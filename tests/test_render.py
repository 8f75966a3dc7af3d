"""Architecture pictures: DOT/SVG/PNG of the published micro cells, layout sanity, diff text.

Expected nodes and edges are written out by hand from docs/enas_reference.md §7's decoded cells, not derived
with the code under test.
"""

import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from enas_tf2.errors import EnasError
from enas_tf2.render import render_arch_files, tensorboard_image, to_dot, to_svg
from enas_tf2.render.arch_graph import ArchGraph
from enas_tf2.render.layout import layout
from enas_tf2.render.png import to_png
from enas_tf2.report.arch_diff import arch_diff
from enas_tf2.search_space.micro.arch import MicroArch
from enas_tf2.search_space.micro.graph import micro_graph

PUBLISHED = ("0 2 0 0  0 4 0 1  0 4 1 1  1 0 0 1  0 2 1 1 "
             "1 0 1 0  0 3 0 2  1 1 3 1  1 0 0 4  0 3 1 1")
# docs/enas_reference.md §7, decoded by hand: node -> ((input, op), (input, op)); then the loose ends.
NORMAL = {2: ((0, "avg_pool_3x3"), (0, "sep_conv_3x3")), 3: ((0, "identity"), (0, "sep_conv_5x5")),
          4: ((0, "identity"), (1, "sep_conv_5x5")), 5: ((1, "sep_conv_3x3"), (0, "sep_conv_5x5")),
          6: ((0, "avg_pool_3x3"), (1, "sep_conv_5x5"))}
REDUCE = {2: ((1, "sep_conv_3x3"), (1, "sep_conv_3x3")), 3: ((0, "max_pool_3x3"), (0, "avg_pool_3x3")),
          4: ((1, "sep_conv_5x5"), (3, "sep_conv_5x5")), 5: ((1, "sep_conv_3x3"), (0, "identity")),
          6: ((0, "max_pool_3x3"), (1, "sep_conv_5x5"))}
LOOSE = {"normal": (2, 3, 4, 5, 6), "reduce": (2, 4, 5, 6)}
CELLS = {"normal": NORMAL, "reduce": REDUCE}


def _expected_edges():
    edges = set()
    for cell, nodes in CELLS.items():
        for n, slots in nodes.items():
            for slot, (inp, _) in enumerate(slots, start=1):
                edges.add((f"{cell}/n{inp}", f"{cell}/n{n}_op{slot}"))
                edges.add((f"{cell}/n{n}_op{slot}", f"{cell}/n{n}"))
        edges.update((f"{cell}/n{n}", f"{cell}/out") for n in LOOSE[cell])
    return edges


def _expected_labels():
    labels = {}
    for cell, nodes in CELLS.items():
        labels[f"{cell}/n0"], labels[f"{cell}/n1"] = "n0: c[k-2]", "n1: c[k-1]"
        labels[f"{cell}/out"] = "c[k]: concat"
        for n, slots in nodes.items():
            labels[f"{cell}/n{n}"] = f"n{n}: add"
            for slot, (_, op) in enumerate(slots, start=1):
                labels[f"{cell}/n{n}_op{slot}"] = op
    return labels


@pytest.fixture(scope="module")
def published():
    return MicroArch.from_tokens(PUBLISHED)


def test_dot_has_every_node_and_edge(published):
    text = to_dot(micro_graph(published))
    nodes = dict(re.findall(r'^\s+"([^"]+)" \[label="([^"]*)"', text, re.M))
    edges = set(re.findall(r'^\s+"([^"]+)" -> "([^"]+)"', text, re.M))
    assert nodes == _expected_labels()
    assert edges == _expected_edges()
    assert len(_expected_edges()) == 2 * 5 * 4 + 5 + 4   # 4 edges per node, loose ends
    assert text.count("subgraph cluster_") == 2
    assert 'label="normal cell"' in text and 'label="reduction cell"' in text


def test_svg_boxes_labels_and_edge_ends(published):
    svg = to_svg(micro_graph(published))
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    boxes = {}
    for g in root.iterfind("s:g", ns):
        if "node" in g.get("class", "").split():
            rect = g.find("s:rect", ns)
            text = "".join(g.find("s:text", ns).itertext())
            x, y, w, h = (float(rect.get(k)) for k in ("x", "y", "width", "height"))
            boxes[g.get("data-id")] = (text, x, y, w, h)
    assert {k: v[0] for k, v in boxes.items()} == _expected_labels()
    edges = [g for g in root.iterfind("s:g", ns) if g.get("class") == "edge"]
    assert {(g.get("data-src"), g.get("data-dst")) for g in edges} == _expected_edges()
    for g in edges:
        # The arrow tip touches the target box and the path starts on the source box.
        tip = [float(v) for v in g.find("s:polygon", ns).get("points").split()[0].split(",")]
        start = [float(v) for v in g.find("s:path", ns).get("d").split()[1:3]]
        for point, end in ((tip, g.get("data-dst")), (start, g.get("data-src"))):
            _, x, y, w, h = boxes[end]
            assert x - 0.6 <= point[0] <= x + w + 0.6 and y - 0.6 <= point[1] <= y + h + 0.6
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text]
    assert "normal cell" in titles and "reduction cell" in titles


@pytest.mark.parametrize("seed", range(6))
def test_layout_boxes_never_overlap(seed):
    lay = layout(micro_graph(MicroArch.random(5, seed=seed)))
    boxes = list(lay.boxes.values())
    for i, a in enumerate(boxes):
        assert 0 <= a.x - a.w / 2 and a.x + a.w / 2 <= lay.width
        assert 0 <= a.y - a.h / 2 and a.y + a.h / 2 <= lay.height
        for b in boxes[i + 1:]:
            apart = abs(a.x - b.x) >= (a.w + b.w) / 2 or abs(a.y - b.y) >= (a.h + b.h) / 2
            assert apart, (a.id, b.id)
    # Inputs flow left to right: every edge ends to the right of where it starts.
    for p in lay.paths:
        assert p.points[-1][0] > p.points[0][0]


def test_png_is_a_valid_picture_of_sane_size(published, tmp_path):
    data = to_png(micro_graph(published))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    lay = layout(micro_graph(published))
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.size == (int(lay.width * 2), int(lay.height * 2))
    assert 400 < img.width < 6000 and 400 < img.height < 6000
    pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in pixels[::7]}
    # The conv (blue), pool (orange) and input (green) fills are all drawn.
    for rgb in ((0x90, 0xCA, 0xF9), (0xFF, 0xCC, 0x80), (0xA5, 0xD6, 0xA7)):
        assert rgb in colours
    paths = render_arch_files(published, str(tmp_path), formats=("png", "svg", "dot"))
    assert sorted(paths) == ["dot", "png", "svg"]
    assert open(paths["png"], "rb").read(8) == data[:8]
    assert open(paths["svg"]).read().startswith("<svg")


def test_tensorboard_image_is_uint8_hwc(published):
    img = tensorboard_image(published, max_side=800)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert max(img.shape[:2]) == 800 and min(img.shape[:2]) > 100
    assert img.min() < 100 and img.max() == 255     # dark text on white


def test_arc_edges_and_bad_graphs():
    g = ArchGraph("chain", "TB")
    for i in range(4):
        g.add_node(f"l{i}", f"layer {i}\nconv 3x3", "conv")
    for i in range(3):
        g.add_edge(f"l{i}", f"l{i + 1}")
    g.add_edge("l0", "l3", style="dashed", route="arc")
    lay = layout(g)
    arc = [p for p in lay.paths if (p.src, p.dst) == ("l0", "l3")][0]
    right = max(b.x + b.w / 2 for b in lay.boxes.values())
    assert max(x for x, _ in arc.points) > right + 10        # the arc bulges beside the chain
    assert "constraint=false" in to_dot(g) and "style=dashed" in to_dot(g)
    assert 'stroke-dasharray' in to_svg(g)
    with pytest.raises(EnasError, match="unknown node"):
        g.add_edge("l0", "nope")
    with pytest.raises(EnasError, match="kind"):
        g.add_node("x", "x", "weird")
    g.add_edge("l3", "l0")
    with pytest.raises(EnasError, match="cycle"):
        layout(g)
    with pytest.raises(EnasError, match="format"):
        render_arch_files(MicroArch.random(2, seed=0), "/tmp", formats=("gif",))


def test_diff_names_changed_tokens_nodes_and_ops(published):
    tokens = PUBLISHED.split()
    tokens[1] = "3"                       # normal n2: avg_pool_3x3(n0) -> max_pool_3x3(n0)
    other = MicroArch.from_tokens(" ".join(tokens))
    text, same = arch_diff(published, other, "a.json", "b.json")
    assert not same
    assert "1 of 40 tokens differ (positions 2)" in text
    assert "-  n2 = avg_pool_3x3(n0) + sep_conv_3x3(n0)" in text
    assert "+  n2 = max_pool_3x3(n0) + sep_conv_3x3(n0)" in text
    assert "avg_pool_3x3  3 -> 2 (-1)" in text and "max_pool_3x3  2 -> 3 (+1)" in text
    text, same = arch_diff(published, MicroArch.from_tokens(PUBLISHED))
    assert same and text.startswith("identical micro architectures")


def _dot_edges(text):
    return {(a, b, "constraint=false" in rest)
            for a, b, rest in re.findall(r'^\s+"([^"]+)" -> "([^"]+)"(.*);$', text, re.M)}


def test_macro_chain_with_skip_arcs():
    macro_arch = pytest.importorskip("enas_tf2.search_space.macro.arch")
    from enas_tf2.search_space.macro.graph import macro_graph
    # Rows "op skip-bits": layer 1 adds the stem; layer 2 adds layer 0's output; layer 3 adds the
    # stem and layer 1's output (bit j reads prev[j], prev = [stem, out_0, out_1, ...]).
    arch = macro_arch.MacroArch.from_tokens("0\n1 1\n2 0 1\n4 1 0 1")
    text = to_dot(macro_graph(arch))
    # L=4: pool layers L//3-1 = 0 and 2*(L//3)-1 = 1, each followed by a halving box.
    chain = ["image", "stem", "layer0", "halve0", "layer1", "halve1", "layer2", "layer3", "head"]
    expected = {(a, b, False) for a, b in zip(chain, chain[1:])}
    expected |= {("stem", "layer1", True), ("layer0", "layer2", True), ("stem", "layer3", True),
                 ("layer1", "layer3", True)}
    assert _dot_edges(text) == expected
    assert 'label="layer 3: avg_pool_3x3"' in text and 'label="layer 1: sep_conv_3x3"' in text
    img = tensorboard_image(arch)
    assert img.shape[0] > img.shape[1]        # a tall chain


def test_rnn_cell_published_enas_lm():
    rnn_arch = pytest.importorskip("enas_tf2.search_space.rnn.arch")
    from enas_tf2.search_space.rnn.graph import rnn_graph
    # docs/enas_reference.md §7: n1<-n0 sigmoid, n2<-n1 tanh, n3<-n2 ReLU, n4<-n2 sigmoid, n5<-n4 tanh,
    # n6<-n5 tanh, n7<-n3 sigmoid, n8<-n6 sigmoid; output = mean of n1..n8.
    arch = rnn_arch.RnnArch.from_tokens("0 2 1 0 2 1 2 2 4 0 5 0 3 2 6 2")
    text = to_dot(rnn_graph(arch))
    reads = {1: 0, 2: 1, 3: 2, 4: 2, 5: 4, 6: 5, 7: 3, 8: 6}
    expected = {("x", "n0", False), ("h_prev", "n0", False)}
    expected |= {(f"n{p}", f"n{k}", False) for k, p in reads.items()}
    expected |= {(f"n{k}", "out", False) for k in range(1, 9)}
    assert _dot_edges(text) == expected
    acts = {1: "sigmoid", 2: "tanh", 3: "relu", 4: "sigmoid", 5: "tanh", 6: "tanh",
            7: "sigmoid", 8: "sigmoid"}
    for k, act in acts.items():
        assert f'label="n{k}: {act}"' in text


def test_tensorboard_image_summary_round_trip(published, tmp_path):
    import tensorflow as tf

    from enas_tf2.render.tensorboard import write_arch_image
    writer = tf.summary.create_file_writer(str(tmp_path))
    write_arch_image(writer, published, step=7, max_side=640)
    write_arch_image(None, published, step=8)            # non-chief: nothing, no error
    events = [str(p) for p in tmp_path.iterdir()]
    found = []
    for event in tf.compat.v1.train.summary_iterator(events[0]):
        for value in event.summary.value:
            if value.tag == "arch/best_so_far":
                # An image summary tensor holds [width, height, encoded PNG].
                width, height, png = tf.make_ndarray(value.tensor)[:3]
                found.append((event.step, int(width), int(height), png[:8]))
    assert len(found) == 1
    step, width, height, magic = found[0]
    assert step == 7 and max(width, height) == 640 and magic == b"\x89PNG\r\n\x1a\n"
