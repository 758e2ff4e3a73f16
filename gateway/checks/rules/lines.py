"""Line and column of a position, from one pass over the text.

Counting newlines from the start of the file for every hit made the character rules
quadratic in the file size; the index is built once (linear) and each lookup is a binary
search.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import accumulate, repeat
from operator import add


class LineIndex:
    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: array[int] | None = None
        self._cursor = (0, 0)

    @property
    def starts(self) -> array[int]:
        """Offsets where each line begins; built on first use (a file without findings
        never needs it), in C: the lengths of the lines, plus one, summed."""
        if self._starts is None:
            lines = self.text.split("\n")
            lines.pop()
            self._starts = array("q", accumulate(map(add, map(len, lines), repeat(1)), initial=0))
        return self._starts

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        if line < 1 or line > len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] - 1 if line < len(self.starts) else len(self.text)
        return self.text[start:end]

    def column_of(self, line: int, needle: str) -> int | None:
        """Column of ``needle`` on a line (e.g. ``<prefix:Name`` of a fact). Lookups made
        in document order continue where the previous one on that line ended, so a whole
        instance on one line is still searched once, not once per element."""
        if line < 1 or line > len(self.starts):
            return None
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        begin = self._cursor[1] if self._cursor[0] == line else start
        at = self.text.find(needle, begin, end)
        if at < 0:
            return None
        self._cursor = (line, at + len(needle))
        return at - start + 1
