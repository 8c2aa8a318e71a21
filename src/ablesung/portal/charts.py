"""Geometry of the meter page's consumption chart: pure arithmetic, the template draws.

The chart compares years, so it needs two of them (one bar compares nothing; the table
below it shows a single year). Its size follows the data: a slot per bar, a fixed
plotting height, the tallest bar reaching the top of it and every other bar in
proportion. All coordinates are integers in CSS pixels (the SVG's own size).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

#: the fewest years a chart is drawn for
MIN_BARS = 2
BAR_WIDTH = 48
GAP = 24  # between two bars; half of it before the first and after the last
PLOT_HEIGHT = 120  # the tallest bar
TOP = 20  # room above the tallest bar for its value
BOTTOM = 24  # room below the bars for the years
VALUE_OFFSET = 6  # between a bar's top and the baseline of its value


class ChartPoint(Protocol):
    """One year of consumption (``ablesung.core.services.history.HistoryPoint``)."""

    @property
    def label(self) -> str: ...

    @property
    def value(self) -> Decimal: ...

    @property
    def current(self) -> bool: ...


@dataclass(frozen=True)
class Bar:
    point: ChartPoint
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> int:
        """Where the bar's value and year are centred."""
        return self.x + self.width // 2

    @property
    def value_y(self) -> int:
        """The baseline of the value written above the bar."""
        return self.y - VALUE_OFFSET


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    width: int
    height: int
    baseline: int  # where the bars stand
    label_y: int  # the baseline of the years


def bar_height(value: Decimal, top: Decimal) -> int:
    """``value``'s bar when ``top`` (the largest value) reaches ``PLOT_HEIGHT``."""
    if top <= 0 or value <= 0:
        return 0
    return int((value * PLOT_HEIGHT / top).to_integral_value())


def bar_chart(points: Sequence[ChartPoint]) -> Chart | None:
    """The chart of ``points`` (oldest first), or ``None`` below ``MIN_BARS`` points."""
    if len(points) < MIN_BARS:
        return None
    top = max(point.value for point in points)
    baseline = TOP + PLOT_HEIGHT
    bars = []
    for index, point in enumerate(points):
        height = bar_height(point.value, top)
        x = GAP // 2 + index * (BAR_WIDTH + GAP)
        bars.append(Bar(point, x=x, y=baseline - height, width=BAR_WIDTH, height=height))
    return Chart(
        bars=bars,
        width=len(points) * (BAR_WIDTH + GAP),
        height=baseline + BOTTOM,
        baseline=baseline,
        label_y=baseline + BOTTOM - 6,
    )
