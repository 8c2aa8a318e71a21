"""The meter page's consumption history: a table always, a bar chart from two years on,
bars sized to the data (``ablesung.portal.charts`` and ``portal/_consumption.html``)."""

import re
from decimal import Decimal
from types import SimpleNamespace

from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation
from django_scopes import scopes_disabled
from hypothesis import given
from hypothesis import strategies as st

from ablesung.core.models import CampaignMeter
from ablesung.core.services.history import HistoryPoint
from ablesung.portal import charts
from ablesung.portal.charts import bar_chart
from tests.conftest import OrgData
from tests.portal.conftest import form_url, post_value

ONE_YEAR = [HistoryPoint("2025", Decimal(28))]
YEARS = [
    HistoryPoint("2023", Decimal(50)),
    HistoryPoint("2024", Decimal("28.25")),
    HistoryPoint("2025", Decimal(100)),
    HistoryPoint("2026", Decimal(25), current=True),
]


# --- geometry ----------------------------------------------------------------------------


def test_no_chart_below_two_years() -> None:
    assert bar_chart([]) is None
    assert bar_chart(ONE_YEAR) is None
    assert bar_chart(YEARS[:2]) is not None


def test_bars_are_proportional_and_the_tallest_fills_the_plot() -> None:
    chart = bar_chart(YEARS)
    assert chart is not None
    assert [bar.height for bar in chart.bars] == [60, 34, 120, 30]
    assert max(bar.height for bar in chart.bars) == charts.PLOT_HEIGHT
    # every bar stands on the baseline, side by side, inside the chart
    assert {bar.y + bar.height for bar in chart.bars} == {chart.baseline}
    lefts = [bar.x for bar in chart.bars]
    assert lefts == sorted(lefts)
    assert all(a.x + a.width < b.x for a, b in zip(chart.bars, chart.bars[1:], strict=False))
    assert chart.bars[-1].x + chart.bars[-1].width < chart.width
    assert [bar.point for bar in chart.bars] == YEARS


def test_the_chart_is_as_wide_as_its_bars() -> None:
    two, five = bar_chart(YEARS[:2]), bar_chart([*YEARS, HistoryPoint("2027", Decimal(1))])
    assert two is not None
    assert five is not None
    assert two.height == five.height < 200
    assert two.width < five.width <= 360  # five bars fit a phone without scaling
    assert five.width / two.width == 5 / 2


def test_zero_consumption_draws_no_bar() -> None:
    chart = bar_chart([HistoryPoint("2025", Decimal(0)), HistoryPoint("2026", Decimal(0))])
    assert chart is not None
    assert [bar.height for bar in chart.bars] == [0, 0]


@given(
    st.lists(
        st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
        min_size=2,
        max_size=5,
    )
)
def test_heights_follow_the_values(values: list[Decimal]) -> None:
    chart = bar_chart([HistoryPoint(str(2020 + i), value) for i, value in enumerate(values)])
    assert chart is not None
    top = max(values)
    for bar, value in zip(chart.bars, values, strict=True):
        exact = value / top * charts.PLOT_HEIGHT if top else Decimal(0)
        assert abs(bar.height - exact) <= Decimal("0.5")
        assert 0 <= bar.y <= chart.baseline
        assert bar.value_y > 0


# --- the template ------------------------------------------------------------------------


def line_view(points: list[HistoryPoint], code: str = "", unit: str = "m³") -> SimpleNamespace:
    """What ``portal/_consumption.html`` reads of a line view."""
    line = SimpleNamespace(register_id=7, register=SimpleNamespace(code=code))
    return SimpleNamespace(line=line, history=points, unit=unit)


def section(view: SimpleNamespace) -> str:
    return render_to_string("portal/_consumption.html", {"view": view})


def table_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<th class="kern-table__cell" scope="row">([^<]*)</th>'
        r'<td class="kern-table__cell num">([^<]*)</td>',
        html,
    )


def rects(html: str) -> list[tuple[int, int]]:
    """(y, height) of each bar."""
    found = re.findall(r'<rect x="\d+" y="(\d+)" width="\d+" height="(\d+)"', html)
    return [(int(y), int(height)) for y, height in found]


def test_one_year_shows_the_table_without_a_chart() -> None:
    html = section(line_view(ONE_YEAR))
    assert "<svg" not in html
    assert table_rows(html) == [("2025", "28")]
    assert '<h2 class="kern-heading-small" id="history-7">Ihr Verbrauch</h2>' in html
    assert "Verbrauch je Jahr in m³</caption>" in html


def test_years_show_a_hidden_chart_and_the_same_numbers_as_a_table() -> None:
    html = section(line_view(YEARS))
    [svg] = re.findall(r"<svg [^>]*>", html)
    assert 'aria-hidden="true"' in svg
    assert 'focusable="false"' in svg
    chart = bar_chart(YEARS)
    assert chart is not None
    assert f'width="{chart.width}" height="{chart.height}"' in svg
    assert rects(html) == [(bar.y, bar.height) for bar in chart.bars]
    assert html.count('class="history-chart__current"') == 1
    assert table_rows(html) == [
        ("2023", "50"),
        ("2024", "28,25"),
        ("2025", "100"),
        ("2026 (Ihre Eingabe)", "25"),
    ]
    labels = re.findall(r'<text x="\d+" y="\d+" text-anchor="middle">([^<]*)</text>', html)
    assert labels == ["50", "2023", "28,3", "2024", "100", "2025", "25", "2026"]


def test_register_code_is_escaped_and_no_history_renders_nothing() -> None:
    html = section(line_view(YEARS, code="HT<&>"))
    assert ">Ihr Verbrauch (HT&lt;&amp;&gt;)</h2>" in html
    assert "<&>" not in html
    assert section(line_view([])).strip() == ""


def test_english_texts_and_numbers() -> None:
    with translation.override("en"):
        html = section(line_view(YEARS, unit="kWh"))
    assert ">Your consumption</h2>" in html
    assert "Consumption per year in kWh</caption>" in html
    assert ">Year</th>" in html
    assert ">Consumption</th>" in html
    assert table_rows(html)[1:] == [("2024", "28.25"), ("2025", "100"), ("2026 (Your entry)", "25")]


# --- on the meter page -------------------------------------------------------------------


def test_meter_page_draws_the_chart_from_the_second_year_on(
    citizen: Client, org_a: OrgData
) -> None:
    with scopes_disabled():
        assert CampaignMeter.objects.get(pk=org_a.campaign_meter.pk).previous_year_consumption
    page = citizen.get(form_url(org_a)).text
    assert "<svg" not in page
    assert table_rows(page) == [("2025", "28")]
    assert post_value(citizen, org_a, "76440").status_code == 302
    page = citizen.get(form_url(org_a)).text
    assert len(re.findall(r'<svg class="history-chart"', page)) == 1
    assert table_rows(page) == [("2025", "28"), ("2026 (Ihre Eingabe)", "26")]
    assert rects(page) == [(20, 120), (29, 111)]
