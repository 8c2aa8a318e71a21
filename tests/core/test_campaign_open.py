"""Opening and closing a campaign: portal details required, a valid window, one audit entry."""

import datetime
import threading
import zoneinfo
from collections.abc import Iterator

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django_scopes import scopes_disabled

from ablesung.core.models import AuditEntry, Campaign, CampaignStatus, Organisation, Role
from ablesung.core.services.actor import Actor
from ablesung.core.services.branding import current_values, do_update_branding
from ablesung.core.services.campaign import (
    CampaignRefused,
    do_close_campaign,
    do_open_campaign,
)
from ablesung.core.services.trash import do_delete_record
from tests.conftest import OrgData, make_member

ACTOR = Actor.system("test")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)
TODAY = NOW.date()
FROM = datetime.date(2026, 12, 1)
UNTIL = datetime.date(2027, 1, 15)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def brand(org: Organisation, **changes: str) -> None:
    values = {
        **current_values(org),
        "contact_email": "ablesung@stadt-a.example",
        "imprint_url": "https://www.stadt-a.example/impressum",
        "privacy_url": "https://www.stadt-a.example/datenschutz",
        **changes,
    }
    do_update_branding(org, values=values, logo_bytes=None, remove_logo=False, actor=ACTOR)


@pytest.fixture
def campaign(org_a: OrgData) -> Campaign:
    brand(org_a.organisation)
    return org_a.campaign


def reload(campaign: Campaign) -> Campaign:
    with scopes_disabled():
        found: Campaign = Campaign.with_trashed.get(pk=campaign.pk)
    return found


def campaign_entries() -> list[AuditEntry]:
    with scopes_disabled():
        return list(AuditEntry.objects.filter(action__startswith="campaign."))


def open_(
    campaign: Campaign, online_from: datetime.date = FROM, until: datetime.date = UNTIL
) -> bool:
    return do_open_campaign(campaign, online_from=online_from, online_until=until, actor=ACTOR)


# --- opening -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_open_is_refused_while_contact_imprint_and_privacy_are_missing(org_a: OrgData) -> None:
    with pytest.raises(CampaignRefused) as caught:
        open_(org_a.campaign)
    assert caught.value.messages == [
        "Bevor eine Ableseaktion geöffnet werden kann, fehlen: Kontakt (E-Mail oder Telefon), "
        "Impressum (Link), Datenschutzerklärung (Link)."
    ]
    assert reload(org_a.campaign).status == CampaignStatus.DRAFT
    assert reload(org_a.campaign).online_from is None
    assert campaign_entries() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"imprint_url": ""}, "Impressum (Link)"),
        ({"privacy_url": ""}, "Datenschutzerklärung (Link)"),
        ({"contact_email": ""}, "Kontakt (E-Mail oder Telefon)"),
    ],
)
def test_open_names_exactly_what_is_missing(
    org_a: OrgData, missing: dict[str, str], named: str
) -> None:
    brand(org_a.organisation, **missing)
    with pytest.raises(CampaignRefused) as caught:
        open_(org_a.campaign)
    assert caught.value.messages == [
        f"Bevor eine Ableseaktion geöffnet werden kann, fehlen: {named}."
    ]
    assert reload(org_a.campaign).status == CampaignStatus.DRAFT


@pytest.mark.django_db
def test_a_phone_number_is_contact_enough(org_a: OrgData) -> None:
    brand(org_a.organisation, contact_email="", contact_phone="03731 123-456")
    assert open_(org_a.campaign) is True


@pytest.mark.django_db
def test_open_is_allowed_once_the_details_are_there(org_a: OrgData) -> None:
    with pytest.raises(CampaignRefused):
        open_(org_a.campaign)
    brand(org_a.organisation)
    assert open_(org_a.campaign) is True
    stored = reload(org_a.campaign)
    assert stored.status == CampaignStatus.OPEN
    assert (stored.online_from, stored.online_until) == (FROM, UNTIL)
    assert org_a.campaign.status == CampaignStatus.OPEN  # the caller's object follows
    [entry] = campaign_entries()
    assert entry.action == "campaign.opened"
    assert entry.object_type == "campaign"
    assert entry.object_id == str(org_a.campaign.pk)
    assert entry.organisation_id == org_a.organisation.pk
    assert entry.data == {
        "old_status": "draft",
        "online_from": "2026-12-01",
        "online_until": "2027-01-15",
    }
    assert stored.is_online(datetime.date(2026, 12, 24))
    assert not stored.is_online(TODAY)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("online_from", "until", "message"),
    [
        (UNTIL, FROM, "Das Ende des Erfassungszeitraums liegt vor seinem Beginn."),
        (
            datetime.date(2026, 11, 1),
            datetime.date(2026, 11, 19),
            "Das Ende des Erfassungszeitraums liegt in der Vergangenheit.",
        ),
    ],
)
def test_an_invalid_window_is_refused(
    campaign: Campaign, online_from: datetime.date, until: datetime.date, message: str
) -> None:
    with pytest.raises(CampaignRefused) as caught:
        open_(campaign, online_from, until)
    assert caught.value.messages == [message]
    assert caught.value.problems[0].field == "online_until"
    assert reload(campaign).status == CampaignStatus.DRAFT
    assert campaign_entries() == []


@pytest.mark.django_db
def test_every_problem_is_named_at_once(org_a: OrgData) -> None:
    with pytest.raises(CampaignRefused) as caught:
        open_(org_a.campaign, datetime.date(2026, 11, 10), datetime.date(2026, 11, 1))
    assert len(caught.value.messages) == 3
    assert caught.value.messages[0].startswith("Bevor eine Ableseaktion")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("online_from", "until"),
    [
        (TODAY, TODAY),  # one day, today
        (datetime.date(2026, 11, 1), TODAY),  # started earlier, ends today
        (datetime.date(2026, 11, 1), UNTIL),
    ],
)
def test_windows_that_end_today_or_later_are_fine(
    campaign: Campaign, online_from: datetime.date, until: datetime.date
) -> None:
    assert open_(campaign, online_from, until) is True
    assert reload(campaign).is_online(TODAY)


@pytest.mark.django_db
def test_opening_twice_changes_nothing_the_second_time(campaign: Campaign) -> None:
    assert open_(campaign) is True
    assert open_(campaign, TODAY, datetime.date(2027, 3, 31)) is False
    stored = reload(campaign)
    assert (stored.online_from, stored.online_until) == (FROM, UNTIL)
    assert [e.action for e in campaign_entries()] == ["campaign.opened"]


@pytest.mark.django_db
def test_a_stale_object_sees_the_stored_state(campaign: Campaign) -> None:
    stale = reload(campaign)
    assert open_(campaign) is True
    assert stale.status == CampaignStatus.DRAFT
    assert open_(stale) is False
    assert stale.status == CampaignStatus.OPEN
    assert (stale.online_from, stale.online_until) == (FROM, UNTIL)


@pytest.mark.django_db(transaction=True)
def test_two_clerks_opening_at_once_give_one_change(org_a: OrgData) -> None:
    brand(org_a.organisation)
    barrier = threading.Barrier(2)
    results: list[bool] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            own = reload(org_a.campaign)
            barrier.wait()
            results.append(open_(own))
        except BaseException as exc:  # reported below, with the thread's traceback
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(results) == [False, True]
    assert [e.action for e in campaign_entries()] == ["campaign.opened"]
    assert reload(org_a.campaign).status == CampaignStatus.OPEN


@pytest.mark.django_db
def test_a_closed_campaign_can_be_reopened(campaign: Campaign) -> None:
    open_(campaign)
    do_close_campaign(campaign, actor=ACTOR)
    assert open_(campaign, TODAY, datetime.date(2026, 11, 30)) is True
    stored = reload(campaign)
    assert stored.status == CampaignStatus.OPEN
    assert stored.online_until == datetime.date(2026, 11, 30)
    assert campaign_entries()[0].data["old_status"] == "closed"


@pytest.mark.django_db
def test_an_exported_campaign_is_not_opened(campaign: Campaign) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.EXPORTED)
    with pytest.raises(CampaignRefused, match="exportierte Ableseaktion"):
        open_(campaign)
    assert reload(campaign).status == CampaignStatus.EXPORTED


@pytest.mark.django_db
def test_a_campaign_in_the_trash_is_not_opened(campaign: Campaign, org_a: OrgData) -> None:
    do_delete_record("campaign", campaign.pk, organisation=org_a.organisation, actor=ACTOR)
    with pytest.raises(CampaignRefused, match="Papierkorb"):
        open_(campaign)
    assert reload(campaign).status == CampaignStatus.DRAFT


# --- closing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_close_an_open_campaign_once(campaign: Campaign) -> None:
    open_(campaign)
    assert do_close_campaign(campaign, actor=ACTOR) is True
    assert reload(campaign).status == CampaignStatus.CLOSED
    assert campaign.status == CampaignStatus.CLOSED
    assert not reload(campaign).is_online(datetime.date(2026, 12, 24))
    assert do_close_campaign(campaign, actor=ACTOR) is False
    entries = campaign_entries()
    assert [e.action for e in entries] == ["campaign.closed", "campaign.opened"]
    assert entries[0].data == {"old_status": "open"}


@pytest.mark.django_db
@pytest.mark.parametrize("status", [CampaignStatus.DRAFT, CampaignStatus.EXPORTED])
def test_only_an_open_campaign_is_closed(campaign: Campaign, status: str) -> None:
    with scopes_disabled():
        Campaign.objects.filter(pk=campaign.pk).update(status=status)
    with pytest.raises(CampaignRefused, match="Nur eine geöffnete Ableseaktion"):
        do_close_campaign(campaign, actor=ACTOR)
    assert reload(campaign).status == status
    assert campaign_entries() == []


# --- the buttons on the campaign page --------------------------------------------------------


def detail(campaign: Campaign) -> str:
    return f"/o/stadt-a/ableseaktionen/{campaign.pk}/"


def window(online_from: str = "2026-12-01", until: str = "2027-01-15") -> dict[str, str]:
    return {"online_from": online_from, "online_until": until}


@pytest.mark.django_db
def test_clerk_opens_and_closes_from_the_campaign_page(
    client_a: Client, campaign: Campaign
) -> None:
    page = client_a.get(detail(campaign))
    assert 'type="date"' in page.text
    assert f'action="{detail(campaign)}oeffnen/"' in page.text
    response = client_a.post(f"{detail(campaign)}oeffnen/", window(), follow=True)
    assert response.redirect_chain == [(detail(campaign), 302)]
    assert "Die Ableseaktion ist geöffnet." in response.text
    assert "01.12.2026 – 15.01.2027" in response.text
    assert f'action="{detail(campaign)}schliessen/"' in response.text
    assert reload(campaign).status == CampaignStatus.OPEN
    assert campaign_entries()[0].actor_label == "clerk@stadt-a.example"

    again = client_a.post(f"{detail(campaign)}oeffnen/", window(), follow=True)
    assert "war bereits geöffnet; es wurde nichts geändert" in again.text

    closed = client_a.post(f"{detail(campaign)}schliessen/", follow=True)
    assert "Die Ableseaktion ist geschlossen." in closed.text
    assert reload(campaign).status == CampaignStatus.CLOSED
    assert f'action="{detail(campaign)}oeffnen/"' in closed.text  # can be reopened


@pytest.mark.django_db
def test_german_dates_are_understood_too(client_a: Client, campaign: Campaign) -> None:
    client_a.post(f"{detail(campaign)}oeffnen/", window("1.12.2026", "15.01.2027"))
    assert reload(campaign).online_until == UNTIL


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (window(until="2026-11-01"), "Das Ende des Erfassungszeitraums liegt vor seinem Beginn."),
        ({"online_from": "2026-12-01"}, "Bitte geben Sie das Ende des Erfassungszeitraums an."),
        (window(online_from="morgen"), "Bitte geben Sie den Beginn als Datum an"),
    ],
)
def test_a_bad_window_is_reported_on_the_page(
    client_a: Client, campaign: Campaign, data: dict[str, str], message: str
) -> None:
    response = client_a.post(f"{detail(campaign)}oeffnen/", data, follow=True)
    assert response.status_code == 200
    assert message in response.text
    assert 'role="alert"' in response.text
    assert reload(campaign).status == CampaignStatus.DRAFT
    assert campaign_entries() == []


@pytest.mark.django_db
def test_the_page_says_what_is_missing_before_opening(client_a: Client, org_a: OrgData) -> None:
    path = detail(org_a.campaign)
    page = client_a.get(path)
    assert "Bevor eine Ableseaktion geöffnet werden kann, fehlen: Kontakt" in page.text
    assert "Diese Angaben ergänzen Administrator:innen der Organisation." in page.text
    response = client_a.post(f"{path}oeffnen/", window(), follow=True)
    assert "fehlen: Kontakt (E-Mail oder Telefon), Impressum (Link)" in response.text
    assert reload(org_a.campaign).status == CampaignStatus.DRAFT
    admin = Client()
    admin.force_login(make_member(org_a.organisation, "admin@stadt-a.example", Role.ADMIN))
    assert 'href="/o/stadt-a/einstellungen/portal/"' in admin.get(path).text


@pytest.mark.django_db
def test_viewer_sees_no_buttons_and_gets_403(org_a: OrgData, campaign: Campaign) -> None:
    viewer = Client()
    viewer.force_login(make_member(org_a.organisation, "viewer@stadt-a.example", Role.VIEWER))
    page = viewer.get(detail(campaign))
    assert "oeffnen/" not in page.text
    assert viewer.post(f"{detail(campaign)}oeffnen/", window()).status_code == 403
    open_(campaign)
    assert viewer.post(f"{detail(campaign)}schliessen/").status_code == 403
    assert reload(campaign).status == CampaignStatus.OPEN
    assert [e.action for e in campaign_entries()] == ["campaign.opened"]


@pytest.mark.django_db
def test_the_endpoints_take_post_only(client_a: Client, campaign: Campaign) -> None:
    assert client_a.get(f"{detail(campaign)}oeffnen/").status_code == 405
    assert client_a.get(f"{detail(campaign)}schliessen/").status_code == 405
    assert reload(campaign).status == CampaignStatus.DRAFT


@pytest.mark.django_db
def test_another_organisations_campaign_is_404(
    client_a: Client, org_b: OrgData, campaign: Campaign
) -> None:
    brand(org_b.organisation)
    other = org_b.campaign.pk
    assert client_a.post(f"/o/stadt-a/ableseaktionen/{other}/oeffnen/", window()).status_code == 404
    assert client_a.post(f"/o/stadt-b/ableseaktionen/{other}/oeffnen/", window()).status_code == 404
    assert reload(org_b.campaign).status == CampaignStatus.DRAFT
