"""ProgressBar: draws only on a terminal, with hand-checked text."""

import io

from enas_tf2.progress import ProgressBar


class _Terminal(io.StringIO):
    """A StringIO that claims to be a terminal."""

    def isatty(self):
        return True


def test_nothing_drawn_when_not_a_terminal():
    stream = io.StringIO()
    with ProgressBar(10, "work", stream=stream) as bar:
        for _ in range(10):
            bar.update()
    assert stream.getvalue() == ""
    assert bar.count == 10


def test_draws_percentage_bar_and_count_on_a_terminal():
    stream = _Terminal()
    bar = ProgressBar(8, "converting", stream=stream, width=8, min_interval=0.0)
    bar.update(2)
    first = stream.getvalue().split("\r")[-1]
    # 2 of 8 = 25 %: 2 of 8 bar cells filled.
    assert first.startswith("converting:  25% |##      | 2/8 [00:00<")
    bar.update(6)
    bar.close()
    text = stream.getvalue()
    assert text.endswith("\n")
    assert text.rstrip().split("\r")[-1].startswith("converting: 100% |########| 8/8 ")


def test_redraws_are_throttled():
    stream = _Terminal()
    bar = ProgressBar(1000, stream=stream, min_interval=3600.0)
    for _ in range(999):
        bar.update()
    assert stream.getvalue().count("\r") == 1          # only the first update drew
    bar.update()                                       # reaching the total always draws
    assert stream.getvalue().count("\r") == 2


def test_unknown_total_and_double_close():
    stream = _Terminal()
    bar = ProgressBar(None, "steps", stream=stream, min_interval=0.0)
    bar.update(3)
    assert stream.getvalue().split("\r")[-1].startswith("steps: 3 [00:00, ")
    bar.close()
    bar.close()
    bar.update()                                       # after close: counted, not drawn
    assert stream.getvalue().count("\n") == 1 and bar.count == 4
