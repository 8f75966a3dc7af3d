"""Issue 22: `enas-arch latency-table` measures a space's blocks with the LiteRT interpreter,
checks their sums on whole networks and writes a table a search can load; spaces without
latency blocks are refused in one line."""

import json

from cli_runner import error_lines, run_cli


def test_a_space_without_latency_blocks_is_refused_in_one_line(tmp_path):
    proc = run_cli("arch_main", ["latency-table", str(tmp_path / "t.json"), "--search_for=micro",
                                 "--image_size=16"])
    assert proc.returncode == 2
    assert error_lines(proc) == ["error: latency tables exist for the nb201 space only; for the "
                                 "micro space use --objective=params or --objective=macs"]
    assert not (tmp_path / "t.json").exists()


def test_nb201_table_is_written_checked_and_loadable(tmp_path):
    from enas_tf2.cost.latency_table import LatencyTable
    path = tmp_path / "tables" / "nb201_16.json"
    proc = run_cli("arch_main", ["latency-table", str(path), "--search_for=nb201",
                                 "--image_size=16", "--set", "out_filters=4", "--set",
                                 "num_layers=1", "--runs=5", "--check_nets=2"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "summed entries vs whole networks" in proc.stdout
    obj = json.loads(path.read_text())
    assert obj["image_size"] == [16, 16] and obj["threads"] == 1
    assert obj["precision"] == "float32" and len(obj["validation"]["nets"]) == 2
    table = LatencyTable.load(str(path), (16, 16), "nb201")
    # 3 stages x (two convs, pool, add) + stem, 2 reduction blocks, head
    assert len(table.entries) == 16 and all(v >= 0 for v in table.entries.values())
