"""The meter page's consumption history (``{% consumption_history view %}``): chart and table."""

import re
from decimal import Decimal

from django.template import Context, Template
from django.utils import translation

from ablesung.core.models import CampaignMeter, Meter, MeterKind, Register
from ablesung.core.services.history import HistoryPoint
from ablesung.portal.pages import LineView
from ablesung.portal.templatetags.consumption import history_section


def view(points: list[HistoryPoint], code: str = "", kind: str = MeterKind.WATER_MAIN) -> LineView:
    register = Register(pk=7, code=code, meter=Meter(kind=kind))
    return LineView(CampaignMeter(register=register), None, True, history=points)


POINTS = [
    HistoryPoint("2024", Decimal(31)),
    HistoryPoint("2025", Decimal("28.25")),
    HistoryPoint("2026", Decimal("1234.5678"), current=True),
]


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<th class="kern-table__cell" scope="row">([^<]*)</th>'
        r'<td class="kern-table__cell num">([^<]*)</td>',
        html,
    )


def test_table_lists_every_year_with_its_consumption_and_marks_the_entry() -> None:
    html = history_section(view(POINTS))
    assert rows(html) == [
        ("2024", "31"),
        ("2025", "28,2500"),
        ("2026 (Ihre Eingabe)", "1234,5678"),
    ]
    assert '<caption class="kern-body">Verbrauch je Jahr in m³</caption>' in html
    assert '<h2 class="kern-heading-small" id="history-7">Ihr Verbrauch</h2>' in html
    assert '<section class="stack" aria-labelledby="history-7">' in html


def test_chart_draws_one_bar_per_year_scaled_to_the_largest() -> None:
    html = history_section(view(POINTS))
    assert 'viewBox="0 0 400 170" aria-hidden="true" focusable="false"' in html
    bars = re.findall(r'<rect x="(\d+)" y="(\d+)" width="40" height="(\d+)"([^>]*)>', html)
    assert bars == [
        ("10", "127", "3", ""),
        ("70", "128", "2", ""),
        ("130", "10", "120", ' fill-opacity="0.6"'),
    ]
    labels = re.findall(r'<text x="\d+" y="1[56][05]">([^<]*)</text>', html)
    assert labels == ["2024", "31", "2025", "28,3", "2026", "1234,6"]


def test_english_texts_and_numbers() -> None:
    with translation.override("en"):
        html = history_section(view(POINTS, kind=MeterKind.ELECTRICITY))
    assert rows(html)[1:] == [("2025", "28.2500"), ("2026 (Your entry)", "1234.5678")]
    assert "Consumption per year in kWh" in html
    assert ">Your consumption</h2>" in html


def test_register_code_is_escaped_and_no_history_renders_nothing() -> None:
    html = history_section(view([HistoryPoint("2025", Decimal(0))], code="HT<&>"))
    assert ">Ihr Verbrauch (HT&lt;&amp;&gt;)</h2>" in html
    assert "<&>" not in html
    assert history_section(view([])) == ""


def test_tag_in_a_template() -> None:
    template = Template("{% load consumption %}{% consumption_history view %}")
    assert template.render(Context({"view": view(POINTS)})) == history_section(view(POINTS))
