"""The printed records as fixed-width text: every row takes exactly two lines and
every page exactly ``ROWS_PER_PAGE`` rows, so the page count of the records is
known from the row count alone, before anything is rendered.

A value longer than its column wraps onto the row's second line and, if it is still
longer, is cut there with an ellipsis; the full value is always in the embedded CSV
(the certificate says so). Characters that would move text (newlines, tabs, bidi
controls and the like) are printed as U+FFFD so no value can add a line or reorder
its neighbours.
"""

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

ROWS_PER_PAGE = 24
LINES_PER_ROW = 2
# three legend lines, a blank and two header lines come before the rows
HEAD_LINES = 6
CUT = "\u2026"
REPLACEMENT = "\ufffd"
# Characters a records line may hold (the landscape page fits them at the records font
# size, package.css); the legend is cut to it.
PAGE_CHARS = 152

# Columns start on tab stops and the gaps are tabs, not runs of spaces: WeasyPrint
# draws every glyph of a line one by one in Python, and a tab is one (empty) glyph
# however far it reaches, which makes a page several times cheaper to draw.
TAB = 4
# Characters per column, the gap to the next included; each a multiple of TAB. A value
# gets one character less; a full IPv6 address (39) fits its two lines of 23.
SLOTS: dict[str, int] = {
    "occurred_at": 36,  # "2025-06-02 07:03:22.123456 -0700" (32)
    "service": 12,
    "source": 24,
    "target": 24,
    "source_ip": 24,
    "client": 12,
    "target_reachable": 12,  # "yes" over "third party"
}
LABELS: dict[str, str] = {
    "service": "Service",
    "source": "Source (made the lookup)",
    "target": "Target (looked up)",
    "source_ip": "Source IP",
    "client": "Client (as reported)",
    "target_reachable": "Reachable",
}
THIRD_PARTY = "third party"
INFO_LABEL = "Info"


def records_pages(rows: int) -> int:
    """Pages the records section takes: one page saying "No rows." when empty."""
    return max(1, math.ceil(rows / ROWS_PER_PAGE))


def printable(value: str) -> str:
    """``value`` with every non-printable character (controls, line and paragraph
    separators, format characters such as bidi overrides) replaced by U+FFFD."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else REPLACEMENT for c in value)


def fold(value: str, width: int) -> tuple[str, str]:
    """Two lines of at most ``width`` characters; what does not fit is cut with "…"."""
    value = printable(value)
    if len(value) <= width:
        return value, ""
    rest = value[width:]
    if len(rest) > width:
        rest = rest[: width - 1] + CUT
    return value[:width], rest


class RecordLayout:
    """The columns of one package's records and the lines of each row."""

    def __init__(
        self,
        *,
        fields: Sequence[str],
        tz_label: str,
        row_count: int,
        has_third_party: bool,
    ) -> None:
        self.keys = [key for key in SLOTS if key in fields]
        if has_third_party and "target_reachable" not in self.keys:
            self.keys.append("info")
        number_slot = -(-(len(str(row_count)) + 1) // TAB) * TAB
        self.slots = [max(2 * TAB, number_slot)] + [SLOTS.get(key, 12) for key in self.keys]
        self.widths = [slot - 1 for slot in self.slots]
        self.line_width = sum(self.slots) - 1
        self.has_third_party = has_third_party
        self.row_count = row_count
        self.tz_label = printable(tz_label)
        labels = ["#"] + [self._label(key) for key in self.keys]
        header = [
            self._wrap_label(label, width) for label, width in zip(labels, self.widths, strict=True)
        ]
        self.header = (
            self._join([cell[0] for cell in header]),
            self._join([cell[1] for cell in header]),
        )

    def _label(self, key: str) -> str:
        if key == "occurred_at":
            return f"Time: UTC / {self.tz_label}"
        if key == "info":
            return INFO_LABEL
        label = LABELS[key]
        if key == "target_reachable" and self.has_third_party:
            return f"{label} / Info"
        return label

    @staticmethod
    def _wrap_label(label: str, width: int) -> tuple[str, str]:
        lines = textwrap.wrap(label, width) or [""]
        if len(lines) > 2 or any(len(line) > width for line in lines):
            return fold(label, width)
        return lines[0], lines[1] if len(lines) > 1 else ""

    def _join(self, cells: Sequence[str]) -> str:
        """Cells at their tab stops: from column ``p``, ``k`` tabs reach the stop ``s``
        when ``k = (s - TAB * (p // TAB)) // TAB`` (each tab goes to the next stop)."""
        last = max((i for i, cell in enumerate(cells) if cell), default=-1)
        out: list[str] = []
        start = position = 0
        for index, (cell, slot) in enumerate(zip(cells, self.slots, strict=True)):
            if index > last:
                break
            if start > position:
                out.append("\t" * ((start - TAB * (position // TAB)) // TAB))
                position = start
            out.append(cell)
            position += len(cell)
            start += slot
        return "".join(out)

    def row_lines(self, row: Mapping[str, Any]) -> tuple[str, str]:
        """The two printed lines of one row (a :class:`~.render.RecordRow`)."""
        first = [str(row["n"])]
        second = [""]
        for key, width in zip(self.keys, self.widths[1:], strict=True):
            if key == "occurred_at":
                top = fold(str(row.get("utc") or ""), width)[0]
                bottom = fold(str(row.get("local") or ""), width)[0]
            elif key == "target_reachable":
                value = row.get("target_reachable")
                top = "" if value is None else ("yes" if value else "no")
                bottom = THIRD_PARTY if row.get("third_party") else ""
            elif key == "info":
                top, bottom = (THIRD_PARTY if row.get("third_party") else ""), ""
            else:
                value = row.get(key)
                top, bottom = fold("" if value is None else str(value), width)
            first.append(top)
            second.append(bottom)
        return self._join(first), self._join(second)

    def legend(self, *, request_number: str, first_row: int, last_row: int) -> tuple[str, str, str]:
        """The three lines above the header on every records page."""
        if self.row_count:
            span = f"rows {first_row}-{last_row} of {self.row_count}, in time order"
        else:
            span = "no rows"
        first = (
            f"RECORDS \u00b7 request {printable(request_number)} \u00b7 {span} \u00b7 each row: "
            f"the UTC time, and below it the same instant in {self.tz_label}"
        )
        second = (
            f'A value too long for its column wraps to the second line, cut with "{CUT}" if '
            "longer still; records.csv, embedded in this PDF, has every value in full."
        )
        third = (
            'Rows marked "third party" are lookups of the target by other accounts '
            "(incoming direction) and are third-party information."
            if self.has_third_party
            else ""
        )
        return self._cut(first), self._cut(second), self._cut(third)

    def _cut(self, line: str) -> str:
        return fold(line, PAGE_CHARS)[0] if len(line) > PAGE_CHARS else line

    def page_text(
        self, *, request_number: str, first_row: int, rows: Sequence[Mapping[str, Any]]
    ) -> str:
        """One records page: legend, header and up to ``ROWS_PER_PAGE`` rows."""
        if len(rows) > ROWS_PER_PAGE:
            raise ValueError(f"{len(rows)} rows do not fit a page of {ROWS_PER_PAGE}")
        lines = [
            *self.legend(
                request_number=request_number,
                first_row=first_row,
                last_row=first_row + len(rows) - 1,
            ),
            "",
            *self.header,
        ]
        for row in rows:
            lines.extend(self.row_lines(row))
        if not rows:
            lines.append("No rows.")
        return "\n".join(lines)
