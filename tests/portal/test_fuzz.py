"""Whatever a citizen types into the reading form: a German answer, never a 500."""

from typing import Any

from django.test import Client
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ablesung.core.models import Reading
from tests.conftest import OrgData
from tests.portal.conftest import form_url

VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"-?[0-9]{0,12}([.,][0-9]{0,6})?", fullmatch=True),
    st.sampled_from(["76440", "76.440", "76440,5", "1e5", "NaN", "∞", "٧٦٤٤٠", "0x1F"]),
)
DATES = st.one_of(
    st.text(max_size=12),
    st.dates().map(lambda day: day.isoformat()),
    st.sampled_from(["31.02.2026", "2026-02-30", "30.12.2026", "0001-01-01", "9999-12-31"]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES, date=DATES, reason=st.sampled_from(["", "pipe_burst", "other", "x" * 30]))
def test_any_input_gets_an_answer_and_stored_values_are_checked(
    citizen: Client, org_a: OrgData, value: str, date: str, reason: str
) -> None:
    fields: dict[str, Any] = {
        f"value_{org_a.register.pk}": value,
        "reading_date": date,
        f"reason_{org_a.register.pk}": reason,
        f"reason_text_{org_a.register.pk}": "Text",
    }
    response = citizen.post(form_url(org_a), fields)
    assert response.status_code in {200, 302, 400}
    if response.status_code != 302:  # the reason is on the page: a field error or the check
        assert any(mark in response.text for mark in ("kern-error", "kern-alert", "feedback--"))
    check = citizen.get(
        f"/portal/zaehler/{org_a.meter.pk}/pruefen/{org_a.register.pk}/",
        {f"value_{org_a.register.pk}": value, "reading_date": date},
    )
    assert check.status_code == 200
    with scopes_disabled():
        for reading in Reading.objects.filter(register=org_a.register):
            assert reading.value >= 0
            assert reading.outcome in {"ok", "warning", "implausible"}
