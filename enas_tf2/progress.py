"""How progress reaches the user: the ``enas_tf2`` logger's timestamped lines (`show_progress`,
used by the command-line tools and the API) and a tiny dependency-free progress bar for long
loops (conversion, training epochs).

The bar draws only when its stream is an interactive terminal, so logs, pipes and CI output stay
clean; callers print their own summary line when done.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional, TextIO


def show_progress(stream: TextIO,
                  propagate: Optional[bool] = None) -> Optional[logging.Handler]:
    """Makes the ``enas_tf2`` logger print its INFO progress lines, ``HH:MM:SS message``, on
    `stream` through its own handler; `propagate` False keeps them away from the root logger
    (the command-line tools, where absl's handler sits there; None leaves it as it is). A handler already on the logger
    (the caller's own) is kept. Returns the handler added, or None."""
    logger = logging.getLogger("enas_tf2")
    logger.setLevel(logging.INFO)
    if propagate is not None:
        logger.propagate = propagate
    if logger.handlers:
        return None
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    return handler


def _format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressBar:
    """``desc:  45% |#########           | 135/300 [00:03<00:04, 40.2/s]`` redrawn in place.

    Args:
      total: number of steps expected (0 or None: unknown, shows only the count and rate).
      desc: label in front of the bar.
      stream: where to draw (default stderr); nothing is drawn unless ``stream.isatty()``.
      width: characters of the bar itself.
      min_interval: seconds between redraws, so tight loops do not spend time drawing.

    Use ``update(n)`` per step and ``close()`` at the end (or use it as a context manager).
    """

    def __init__(self, total: Optional[int], desc: str = "", stream: Optional[TextIO] = None,
                 width: int = 30, min_interval: float = 0.1):
        self.total = int(total or 0)
        self.desc = desc
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.min_interval = min_interval
        self.count = 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._closed = False

    def render(self) -> str:
        """The current bar as one line of text (without the carriage return)."""
        elapsed = time.monotonic() - self._start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        prefix = f"{self.desc}: " if self.desc else ""
        if self.total <= 0:
            return f"{prefix}{self.count} [{_format_seconds(elapsed)}, {rate:.1f}/s]"
        done = min(self.count / self.total, 1.0)
        filled = int(done * self.width)
        remaining = (self.total - self.count) / rate if rate > 0 else 0.0
        return (f"{prefix}{done * 100:3.0f}% |{'#' * filled}{' ' * (self.width - filled)}| "
                f"{self.count}/{self.total} [{_format_seconds(elapsed)}<"
                f"{_format_seconds(remaining)}, {rate:.1f}/s]")

    def _draw(self) -> None:
        # "\r" returns to the line start; trailing spaces wipe a longer previous line.
        self.stream.write("\r" + self.render().ljust(79))
        self.stream.flush()
        self._last_draw = time.monotonic()

    def update(self, n: int = 1) -> None:
        """Advances by ``n`` steps and redraws if enough time has passed (or at the end)."""
        self.count += n
        if not self.enabled or self._closed:
            return
        if self.count >= self.total > 0 or time.monotonic() - self._last_draw >= self.min_interval:
            self._draw()

    def close(self) -> None:
        """Draws the final state and ends the line; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
