"""``{{ view.history|bar_chart }}``: the consumption chart's geometry for the template."""

from collections.abc import Sequence

from django import template

from ablesung.portal.charts import Chart, ChartPoint, bar_chart

register = template.Library()


@register.filter(name="bar_chart")
def bar_chart_filter(points: Sequence[ChartPoint]) -> Chart | None:
    """The bars of ``points``, or ``None`` when there are too few years for a chart."""
    return bar_chart(points)
