"""The NAS-Bench-201 truth table: look-ups, percentile, and one clear error per bad table."""

import pytest

from enas_tf2.errors import EnasError
from enas_tf2.ranking.nb201_table import Nb201Table
from enas_tf2.search_space.nb201.arch import Nb201Arch

BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
        "nor_conv_1x1~2|")


@pytest.fixture(scope="module")
def table(nb201_table_path):
    return Nb201Table(str(nb201_table_path))


def test_lookups_match_the_documented_checks(table):
    """shared/data/README.md §4: best 94.3733 (that cell), all-skip 54.2967, worst 10.0."""
    best = Nb201Arch.from_tokens(BEST)
    assert table.accuracy(best) == pytest.approx(94.3733)
    assert table.percentile(table.accuracy(best)) == 100.0
    assert table.truth(best)["rank"] == 1
    all_skip = Nb201Arch((1,) * 6)
    assert table.accuracy(all_skip) == pytest.approx(54.2967)
    worst = min(table.accuracy(a) for a in Nb201Arch.all_archs())
    assert worst == pytest.approx(10.0)
    assert 0 < table.percentile(worst) < 5            # ties at 10 %: disconnected cells
    # The percentile is the share of cells at or below: the median cell sits near 50.
    assert table.percentile(90.745) == pytest.approx(50.0, abs=0.1)


def _write(tmp_path, lines):
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _lines(nb201_table_path):
    return nb201_table_path.read_text().splitlines()


def test_missing_file(tmp_path):
    with pytest.raises(EnasError, match="does not exist"):
        Nb201Table(str(tmp_path / "nope.csv"))


@pytest.mark.parametrize("edit, words", [
    (lambda ls: ["idx,arch,acc"] + ls[1:], "must start with the header"),
    (lambda ls: [], "an empty file"),
    (lambda ls: ls[:100], "has 99 cells but the NAS-Bench-201 space has 15625"),
    (lambda ls: ls[:2] + [ls[2] + ",extra"] + ls[3:], "line 3: expected 3 columns"),
    (lambda ls: ls[:2] + [ls[2].rsplit(",", 1)[0] + ",abc"] + ls[3:], "line 3: .*a number"),
    (lambda ls: ls[:2] + [ls[2].rsplit(",", 1)[0] + ",101.5"] + ls[3:], "percentage"),
    (lambda ls: ls[:2] + [ls[2].replace("|+|", "|-|", 1)] + ls[3:], "line 3: bad architecture"),
    (lambda ls: ls + [ls[1].replace(ls[1].split(",")[0], "99999", 1)], "appears twice"),
])
def test_malformed_tables_give_one_line_naming_the_problem(nb201_table_path, tmp_path, edit,
                                                           words):
    path = _write(tmp_path, edit(_lines(nb201_table_path)))
    with pytest.raises(EnasError, match=words) as info:
        Nb201Table(path)
    assert "\n" not in str(info.value)


def test_other_spaces_and_unknown_indices_are_refused(table):
    from enas_tf2.search_space.macro.arch import MacroArch
    with pytest.raises(EnasError, match="'macro' search space"):
        table.accuracy(MacroArch.from_tokens("0 1 0"))
    with pytest.raises(EnasError, match="no index 15625"):
        table.arch_at(15625)


def test_search_code_never_reads_the_table_and_generic_code_never_names_the_space():
    """The table is an evaluator: only the oracle, the reports and the API around runs read it;
    `training/`, `export/` and the lower floors do not even name the nb201 space."""
    import pathlib
    import re
    imports_table = re.compile(r"^\s*(from|import)\s+enas_tf2\.ranking(\.nb201_table|\s+import"
                               r".*nb201_table)", re.M)
    package = pathlib.Path(__file__).resolve().parents[1] / "enas_tf2"
    for floor in ("training", "search_space", "controller", "layers", "tasks", "data",
                  "export"):
        for path in (package / floor).rglob("*.py"):
            text = path.read_text()
            assert not imports_table.search(text), path
            if floor in ("training", "export"):
                assert "nb201" not in text.lower(), path
