"""Geometry of the dashboard's chart of readings per day: pure arithmetic, the template draws.

One bar per day (days without readings are empty slots), the busiest day reaching the top
of the plot, every other bar in proportion. Slots are wide for a few days and narrow for
many, so that the chart is about ``TARGET_WIDTH`` pixels wide (it scales down with the page;
the table beside it carries the numbers). Every seventh day from the first is labelled.
All coordinates are integers in CSS pixels (the SVG's own size).
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

TARGET_WIDTH = 640
MIN_SLOT = 10
MAX_SLOT = 48
PLOT_HEIGHT = 120
TOP = 22  # room above the tallest bar for its value
BOTTOM = 24  # room below the bars for the dates
LABEL_EVERY = 7


@dataclass(frozen=True)
class DayBar:
    day: datetime.date
    value: int
    x: int
    y: int
    width: int
    height: int
    label: str  # the date under the bar ("" for most bars)

    @property
    def center(self) -> int:
        return self.x + self.width // 2


@dataclass(frozen=True)
class DailyChart:
    bars: list[DayBar]
    width: int
    height: int
    baseline: int  # where the bars stand
    top: int  # the height of the busiest day's bar
    top_value: int  # the busiest day's count
    label_y: int  # the baseline of the dates


def slot_width(days: int) -> int:
    """Pixels per day: ``TARGET_WIDTH`` shared out, within ``MIN_SLOT``–``MAX_SLOT``."""
    return max(MIN_SLOT, min(MAX_SLOT, TARGET_WIDTH // max(days, 1)))


def daily_chart(points: Sequence[tuple[datetime.date, int]]) -> DailyChart | None:
    """The chart of ``(day, count)`` points, oldest first; ``None`` when nothing was counted."""
    top_value = max((value for _day, value in points), default=0)
    if top_value <= 0:
        return None
    slot = slot_width(len(points))
    gap = max(2, slot // 4)
    baseline = TOP + PLOT_HEIGHT
    bars = []
    for index, (day, value) in enumerate(points):
        height = round(value * PLOT_HEIGHT / top_value)
        label = f"{day:%d.%m.}" if index % LABEL_EVERY == 0 else ""
        bars.append(
            DayBar(
                day=day,
                value=value,
                x=index * slot + gap // 2,
                y=baseline - height,
                width=slot - gap,
                height=height,
                label=label,
            )
        )
    return DailyChart(
        bars=bars,
        width=max(len(points) * slot, 2 * MAX_SLOT),
        height=baseline + BOTTOM,
        baseline=baseline,
        top=TOP,
        top_value=top_value,
        label_y=baseline + BOTTOM - 6,
    )
