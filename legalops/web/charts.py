"""Bar charts drawn as inline SVG on the server: geometry here, markup in templates.

No script and no style attribute (the CSP forbids both): each shape carries a
class the stylesheet colours, and a <title> a screen reader or a hover reads.
The same numbers are always in a table beside the chart.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[float] = field(default_factory=list)  # y (or x) positions
    axis: tuple[float, float, float, float] = (0, 0, 0, 0)
    horizontal: bool = False
    plot_top: float = 0
    plot_bottom: float = 0
    plot_left: float = 0
    plot_right: float = 0


def _ticks(top: int) -> list[int]:
    """Up to five whole-number ticks from 0 to at least ``top``."""
    step = max(1, -(-top // 4))
    return list(range(0, step * 4 + 1, step)) if top > 4 else list(range(0, max(top, 1) + 1))


def stacked_columns(
    *,
    groups: list[tuple[str, list[tuple[str, str, int]]]],
    width: int = 640,
    height: int = 260,
) -> Chart:
    """One column per group (e.g. a month), stacked by series.

    ``groups``: ``[(label, [(series, series_label, value), ...]), ...]``.
    """
    left, right, top, bottom = 40, 10, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((sum(v for _, _, v in parts) for _, parts in groups), default=0)
    ticks = _ticks(highest)
    scale = plot_h / ticks[-1]
    chart = Chart(
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=top + plot_h,
        plot_left=left,
        plot_right=left + plot_w,
    )
    chart.axis = (left, top + plot_h, left + plot_w, top + plot_h)
    for tick in ticks:
        y = top + plot_h - tick * scale
        chart.gridlines.append(round(y, 2))
        chart.labels.append(Label(x=left - 6, y=round(y + 4, 2), text=str(tick), anchor="end"))
    slot = plot_w / max(len(groups), 1)
    # Past a year of columns, label every quarter or year so labels never overlap.
    label_every = 1 if len(groups) <= 12 else 3 if len(groups) <= 36 else 12
    bar_w = min(slot * 0.7, 48)
    for index, (label, parts) in enumerate(groups):
        x = left + slot * index + (slot - bar_w) / 2
        base = top + plot_h
        for series, series_label, value in parts:
            if value <= 0:
                continue
            h = value * scale
            base -= h
            chart.bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(base, 2),
                    width=round(bar_w, 2),
                    height=round(h, 2),
                    series=series,
                    title=f"{label}: {value} {series_label}",
                )
            )
        if index % label_every == 0:
            chart.labels.append(Label(x=round(x + bar_w / 2, 2), y=top + plot_h + 18, text=label))
    return chart


def stacked_rows(
    *,
    groups: list[tuple[str, list[tuple[str, str, int]]]],
    width: int = 640,
    row_height: int = 34,
) -> Chart:
    """One horizontal bar per group (e.g. a process type), stacked by series."""
    left, right, top, bottom = 150, 16, 8, 28
    height = top + bottom + row_height * max(len(groups), 1)
    plot_w = width - left - right
    highest = max((sum(v for _, _, v in parts) for _, parts in groups), default=0)
    ticks = _ticks(highest)
    scale = plot_w / ticks[-1]
    chart = Chart(
        width=width,
        height=height,
        horizontal=True,
        plot_top=top,
        plot_bottom=height - bottom,
        plot_left=left,
        plot_right=left + plot_w,
    )
    chart.axis = (left, top, left, height - bottom)
    for tick in ticks:
        x = left + tick * scale
        chart.gridlines.append(round(x, 2))
        chart.labels.append(Label(x=round(x, 2), y=height - bottom + 16, text=str(tick)))
    for index, (label, parts) in enumerate(groups):
        y = top + row_height * index + row_height * 0.2
        bar_h = row_height * 0.6
        start = float(left)
        for series, series_label, value in parts:
            if value <= 0:
                continue
            w = value * scale
            chart.bars.append(
                Bar(
                    x=round(start, 2),
                    y=round(y, 2),
                    width=round(w, 2),
                    height=round(bar_h, 2),
                    series=series,
                    title=f"{label}: {value} {series_label}",
                )
            )
            start += w
        chart.labels.append(
            Label(x=left - 8, y=round(y + bar_h / 2 + 4, 2), text=label, anchor="end")
        )
    return chart
