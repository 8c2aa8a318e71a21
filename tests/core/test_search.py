"""Finding meters: folded search keys, where they are kept, and the list's query (search,
filters, sorting, keyset pages) on SQLite and PostgreSQL."""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from hypothesis import given
from hypothesis import strategies as st

from ablesung.core.models import (
    Campaign,
    CampaignMeter,
    Meter,
    Organisation,
    Outcome,
    Property,
    Reading,
    ReadingSource,
    Register,
    ReviewState,
)
from ablesung.core.models.search_key import fill_search_keys, prefix_filter
from ablesung.core.scoping import organisation_scope
from ablesung.core.services import search as search_service
from ablesung.core.services.actor import Actor
from ablesung.core.services.meter_import import NewCampaign, import_meter_list_now
from ablesung.core.services.search import (
    NO_READING,
    CursorGone,
    MeterQuery,
    MeterSearch,
    sort_paths,
)
from ablesung.core.services.trash import do_delete_record
from ablesung.formats import FINANZ_PLUS_STANDARD
from ablesung.lib.folding import MAX_KEY, PREFIX_END, fold, search_key

ACTOR = Actor.system("test")
KEY_DATE = datetime.date(2026, 12, 31)

# --- folding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Gartenstraße 12", "gartenstrasse 12"),
        ("GARTENSTRASSE", "gartenstrasse"),
        ("Müller", "mueller"),
        ("MÜLLER", "mueller"),
        ("Mueller", "mueller"),
        ("Köhler", "koehler"),
        ("Öztürk", "oeztuerk"),
        ("Bäckerei Ähm; Inh. Groß", "baeckerei aehm; inh. gross"),
        ("ẞ", "ss"),
        ("René", "rene"),
        ("Łódź", "łodz"),  # Ł has no decomposition: only the accents go
        ("a\u0308rger", "aerger"),  # a decomposed ä is an ä
        ("  Am   Mühlbach\t3 ", "am muehlbach 3"),
        ("ﬁscher", "fischer"),
        ("ℌans", "hans"),
        ("A-1234/b", "a-1234/b"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@given(st.text())
def test_folding_is_stable_and_leaves_no_capitals_or_prefix_end(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded  # a folded term searches for itself
    assert folded.casefold() == folded
    assert PREFIX_END not in folded
    assert folded == folded.strip()


@given(st.text(), st.text())
def test_a_prefix_of_a_text_folds_to_a_prefix_of_its_key(start: str, rest: str) -> None:
    """What the clerk typed from the start of a word finds the word (whole characters)."""
    assert fold(start + " " + rest).startswith(fold(start))


def test_search_key_joins_the_fields_and_is_cut() -> None:
    assert search_key("Weiß", "Monika") == "weiss monika"
    assert search_key("Weiß", "") == "weiss"
    assert search_key("Ä" * 300) == "ae" * (MAX_KEY // 2) + "a"
    assert len(search_key("x" * 1000)) == MAX_KEY


# --- keys kept by the ORM, the bulk writer and the migration ----------------------------


def property_keys(prop: Property) -> tuple[str, str, str, str]:
    return (prop.object_key, prop.customer_key, prop.owner_key, prop.street_key)


@pytest.mark.django_db
def test_save_and_bulk_create_fill_the_keys(org: Organisation) -> None:
    with organisation_scope(org):
        prop = Property.objects.create(
            organisation=org,
            object_number="OB-1",
            customer_number="K-Ä1",
            owner_last_name="Weiß",
            owner_first_name="Jörg",
            street="Gartenstraße",
            house_number="12a",
        )
        prop.refresh_from_db()
        assert property_keys(prop) == ("ob-1", "k-ae1", "weiss joerg", "gartenstrasse 12a")
        prop.street = "Am Mühlbach"
        prop.save(update_fields=["street"])  # the key is saved with its source
        prop.refresh_from_db()
        assert prop.street_key == "am muehlbach 12a"
        (meter,) = Meter.objects.bulk_create(
            [Meter(organisation=org, property=prop, number="WZ-Ü7")]
        )
        assert Meter.objects.get(pk=meter.pk).number_key == "wz-ue7"
        prop.owner_last_name = "Groß"
        assert fill_search_keys(prop) == ["object_key", "customer_key", "owner_key", "street_key"]
        Property.objects.bulk_update([prop], ["owner_last_name", "owner_key"])
        assert Property.objects.get(pk=prop.pk).owner_key == "gross joerg"


HEADER = (
    "Objektnummer;Kassenzeichen;Name;Vorname;Straße;Hausnummer;PLZ;Ort;Zählernummer;"
    "Zählerart;Stellen;Ablesedatum alt;Zählerstand alt;Vorjahresverbrauch;"
    "Ablesedatum neu;Zählerstand neu;Ableseart;Bemerkung"
)


def meter_list(rows: list[tuple[str, str, str, str, str, str, str]]) -> bytes:
    """(object, customer, last name, first name, street, house number, meter number)."""
    lines = [HEADER]
    for obj, customer, last, first, street, number, meter in rows:
        lines.append(
            f"{obj};{customer};{last};{first};{street};{number};09111;Musterstadt;{meter};"
            "Hauptwasserzähler;5;15.12.2025;1000;100;;;;"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def import_rows(org: Organisation, content: bytes, campaign: str = "Ablesung 2026") -> None:
    with organisation_scope(org):
        existing = Campaign.objects.filter(name=campaign).first()
    target = existing or NewCampaign(campaign, KEY_DATE)
    batch, _ = import_meter_list_now(
        target,
        ContentFile(content, name="liste.csv"),
        original_name="liste.csv",
        profile=FINANZ_PLUS_STANDARD,
        organisation=org,
        actor=ACTOR,
    )
    assert batch.status == "succeeded", batch.message


FIRST_LIST = [
    ("1-001", "K-1", "Müller", "Jörg", "Gartenstraße", "1", "WZ-Ä1"),
    ("1-002", "K-2", "Schäfer", "", "Am Mühlbach", "2", "WZ-2"),
    ("1-003", "K-3", "Groß", "René", "Lindenallee", "3", "wz-3"),
]
SECOND_LIST = [
    ("1-001", "K-1", "Weiß", "Jörg", "Schulstraße", "1", "WZ-Ä1"),  # owner and street changed
    ("1-002", "K-2", "Schäfer", "", "Am Mühlbach", "2", "WZ-2"),
    ("1-004", "K-4", "Öztürk", "René", "Ringstraße", "4", "WZ-4"),
]


def keys_of(org: Organisation) -> dict[str, Any]:
    with organisation_scope(org):
        properties = {
            prop.object_number: (
                property_keys(prop),
                (
                    search_key(prop.object_number),
                    search_key(prop.customer_number),
                    search_key(prop.owner_last_name, prop.owner_first_name),
                    search_key(prop.street, prop.house_number),
                ),
            )
            for prop in Property.with_trashed.all()
        }
        meters = {
            meter.number: (meter.number_key, search_key(meter.number))
            for meter in Meter.with_trashed.all()
        }
    return {"properties": properties, "meters": meters}


@pytest.mark.django_db
@pytest.mark.parametrize("writer", ["bulk", "orm"])
def test_the_import_writes_the_keys_of_new_and_changed_rows(
    writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk writer folds the keys in Python when it stages a chunk, and sets them again
    in its UPDATE of a changed property; the ORM writer (the reference) does the same."""
    from ablesung.core.services import meter_import

    if writer == "orm":
        from tests.core.orm_writer import OrmWriter

        monkeypatch.setattr(meter_import, "BulkWriter", OrmWriter)
    monkeypatch.setattr(meter_import, "CHUNK", 2)
    org = Organisation.objects.create(slug=writer, name=writer)
    import_rows(org, meter_list(FIRST_LIST))
    with organisation_scope(org):
        do_delete_record(
            "property",
            Property.objects.get(object_number="1-002").pk,
            organisation=org,
            actor=ACTOR,
        )
    import_rows(org, meter_list(SECOND_LIST), campaign="Ablesung 2027")
    keys = keys_of(org)
    for stored, expected in [*keys["properties"].values(), *keys["meters"].values()]:
        assert stored == expected
    assert keys["properties"]["1-001"][0] == ("1-001", "k-1", "weiss joerg", "schulstrasse 1")
    assert keys["properties"]["1-004"][0][2] == "oeztuerk rene"
    assert keys["meters"]["WZ-Ä1"][0] == "wz-ae1"


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_keys_of_existing_rows() -> None:
    before, after = [("core", "0007_clerk_work")], [("core", "0008_search")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    org = apps.get_model("core", "Organisation").objects.create(slug="alt", name="Alt")
    prop = apps.get_model("core", "Property").objects.create(
        organisation=org,
        object_number="Ob-1",
        customer_number="K-1",
        owner_last_name="Müller",
        owner_first_name="Jörg",
        street="Gartenstraße",
        house_number="5",
    )
    meter = apps.get_model("core", "Meter").objects.create(
        organisation=org, property=prop, number="WZ-Ä1"
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    apps = executor.loader.project_state(after).apps
    migrated = apps.get_model("core", "Property").objects.get(pk=prop.pk)
    assert (migrated.object_key, migrated.customer_key) == ("ob-1", "k-1")
    assert (migrated.owner_key, migrated.street_key) == ("mueller joerg", "gartenstrasse 5")
    assert apps.get_model("core", "Meter").objects.get(pk=meter.pk).number_key == "wz-ae1"
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_prefix_ranges_compare_bytes_on_every_database(org: Organisation) -> None:
    """The key column's binary collation: a prefix range finds exactly the keys that start
    with it, whatever the database's own collation would sort between them."""
    keys = ["ab", "ab c", "ab-c", "abc", "abd", "a", "b", "ab\u00e9", "ab\U0001f600", "ac"]
    with organisation_scope(org):
        prop = Property.objects.create(organisation=org, object_number="P")
        for number, key in enumerate(keys):
            meter = Meter.objects.create(organisation=org, property=prop, number=f"M{number}")
            Meter.objects.filter(pk=meter.pk).update(number_key=key)
        found = set(
            Meter.objects.filter(prefix_filter("number_key", "ab")).values_list(
                "number_key", flat=True
            )
        )
        in_order = list(Meter.objects.order_by("number_key").values_list("number_key", flat=True))
    assert found == {key for key in keys if key.startswith("ab")}
    assert in_order == sorted(keys, key=lambda key: key.encode())


# --- the list's query -------------------------------------------------------------------


@pytest.fixture
def org(db: Any) -> Organisation:
    org: Organisation = Organisation.objects.create(slug="suche", name="Suche")
    return org


class Town:
    """An organisation with properties, meters and a campaign, built row by row."""

    def __init__(self, org: Organisation) -> None:
        self.org = org
        with organisation_scope(org):
            self.campaign = Campaign.objects.create(
                organisation=org, name="Ablesung 2026", key_date=KEY_DATE
            )
            self.other_campaign = Campaign.objects.create(
                organisation=org, name="Ablesung 2025", key_date=datetime.date(2025, 12, 31)
            )
        self.lines: dict[str, CampaignMeter] = {}

    def meter(
        self,
        number: str,
        *,
        obj: str,
        customer: str = "",
        last: str = "",
        first: str = "",
        street: str = "",
        house: str = "",
        kind: str = "water_main",
        codes: tuple[str, ...] = ("",),
    ) -> Meter:
        with organisation_scope(self.org):
            prop, _created = Property.objects.get_or_create(
                organisation=self.org,
                object_number=obj,
                defaults={
                    "customer_number": customer or f"K-{obj}",
                    "owner_last_name": last,
                    "owner_first_name": first,
                    "street": street,
                    "house_number": house,
                },
            )
            meter = Meter.objects.create(
                organisation=self.org, property=prop, number=number, kind=kind
            )
            for code in codes:
                register = Register.objects.create(organisation=self.org, meter=meter, code=code)
                self.lines[f"{number}{code}"] = CampaignMeter.objects.create(
                    organisation=self.org, campaign=self.campaign, register=register
                )
        created: Meter = meter
        return created

    def reading(
        self,
        line: str,
        *,
        outcome: str = Outcome.OK,
        state: str = ReviewState.SUBMITTED,
        source: str = ReadingSource.ONLINE,
        campaign: Campaign | None = None,
    ) -> Reading:
        target = self.lines[line]
        campaign = campaign or self.campaign
        with organisation_scope(self.org):
            version = (
                Reading.with_trashed.filter(campaign=campaign, register_id=target.register_id)
                .order_by("-version")
                .values_list("version", flat=True)
                .first()
                or 0
            )
            Reading.objects.filter(
                campaign=campaign, register_id=target.register_id, is_effective=True
            ).update(is_effective=False)
            reading: Reading = Reading.objects.create(
                organisation=self.org,
                campaign=campaign,
                register_id=target.register_id,
                version=version + 1,
                is_effective=True,
                value=Decimal(1000 + version),
                reading_date=KEY_DATE,
                source=source,
                outcome=outcome,
                state=state,
            )
        return reading


@pytest.fixture
def town(org: Organisation) -> Town:
    town = Town(org)
    town.meter("WZ-100", obj="1-001", last="Müller", first="Jörg", street="Gartenstraße", house="1")
    town.meter("WZ-101", obj="1-001")
    town.meter("wz-200", obj="2-001", last="Mueller", first="Anna", street="Schulstraße", house="7")
    town.meter("GZ-300", obj="3-001", last="Weiß", street="Am Mühlbach", house="3", kind="gas")
    town.meter("SZ-400", obj="4-001", customer="60.4711", last="Schäfer", street="Ringstraße")
    town.meter("SZ-500", obj="5-001", last="Bäckerei Straßer GmbH", codes=("HT", "NT"))
    town.meter("SZ-600", obj="6-001", last="Kühn", street="Straße der Einheit", house="9")
    return town


def numbers(org: Organisation, **query: Any) -> list[str]:
    """The meter numbers (with register codes) of every row the query finds, in order."""
    with organisation_scope(org):
        rows = MeterSearch(MeterQuery(**query)).page(size=1000).rows
    return [f"{row.meter.number}{row.line.register.code if row.line else ''}" for row in rows]


def with_campaign(town: Town, **query: Any) -> list[str]:
    return numbers(town.org, campaign=town.campaign, **query)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("wz-1", ["WZ-100", "WZ-101"]),  # meter number, prefix, case
        ("WZ-2", ["wz-200"]),
        ("wz-100", ["WZ-100"]),
        ("1-00", ["WZ-100", "WZ-101"]),  # object number: the property's meters
        ("60.47", ["SZ-400"]),  # customer number
        ("Müller", ["WZ-100", "WZ-101", "wz-200"]),  # "Mueller" is written out
        ("mueller", ["WZ-100", "WZ-101", "wz-200"]),
        ("MÜLLER J", ["WZ-100", "WZ-101"]),  # name, then first name
        ("weiss", ["GZ-300"]),  # ß both ways
        ("Weiß", ["GZ-300"]),
        ("Strasse", ["SZ-600"]),  # a prefix: not "Gartenstraße"
        ("STRASSE DER E", ["SZ-600"]),
        ("Straße d", ["SZ-600"]),
        ("kuehn", ["SZ-600"]),
        ("Gartenstrasse", ["WZ-100", "WZ-101"]),
        ("GARTENSTRASSE 1", ["WZ-100", "WZ-101"]),  # street and house number
        ("schulstr", ["wz-200"]),
        ("am muehl", ["GZ-300"]),
        ("Am Mühlbach", ["GZ-300"]),
        ("bäckerei strasser", ["SZ-500HT", "SZ-500NT"]),
        ("  ringstraße  ", ["SZ-400"]),
        ("ller", []),  # not the middle of a word
        ("xyz", []),
    ],
)
def test_search(town: Town, term: str, found: list[str]) -> None:
    assert with_campaign(town, term=term) == found


@pytest.mark.django_db
def test_search_without_campaign_lists_meters(town: Town) -> None:
    assert numbers(town.org, term="mueller") == ["WZ-100", "WZ-101", "wz-200"]
    assert numbers(town.org, term="sz-5") == ["SZ-500"]  # one row per meter


@pytest.mark.django_db
def test_many_hits_filter_each_row_with_the_same_result(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond FEW_HITS found meters the search becomes a condition on each row."""
    terms = ("mue", "wz", "1-00", "s", "weiss")
    lines = {term: with_campaign(town, term=term) for term in terms}
    meters = {term: numbers(town.org, term=term) for term in terms}
    assert lines["s"] == ["SZ-400", "SZ-500HT", "SZ-500NT", "SZ-600", "wz-200"]
    monkeypatch.setattr(search_service, "FEW_HITS", 1)
    for term in terms:
        assert with_campaign(town, term=term) == lines[term], term
        assert numbers(town.org, term=term) == meters[term], term


@pytest.mark.django_db
def test_trashed_and_foreign_meters_are_not_found(town: Town) -> None:
    other = Town(Organisation.objects.create(slug="andere", name="Andere"))
    other.meter("WZ-109", obj="9-001", last="Müller")
    with organisation_scope(town.org):
        meter = Meter.objects.get(number="WZ-101")
    do_delete_record("meter", meter.pk, organisation=town.org, actor=ACTOR)
    assert with_campaign(town, term="wz-1") == ["WZ-100"]
    assert numbers(town.org, term="müller") == ["WZ-100", "wz-200"]
    with organisation_scope(town.org):
        prop = Property.objects.get(object_number="2-001")
    do_delete_record("property", prop.pk, organisation=town.org, actor=ACTOR)
    assert with_campaign(town, term="müller") == ["WZ-100"]
    assert numbers(town.org, term="wz-2") == []


@pytest.mark.django_db
def test_filters(town: Town) -> None:
    town.reading("WZ-100", outcome=Outcome.IMPLAUSIBLE)
    town.reading("WZ-101", outcome=Outcome.IMPLAUSIBLE)
    town.reading("WZ-101", outcome=Outcome.OK, state=ReviewState.REVIEWED)  # newer version
    town.reading("wz-200", outcome=Outcome.WARNING, source=ReadingSource.PHONE)
    town.reading("GZ-300", state=ReviewState.RELEASED, source=ReadingSource.LETTER)
    town.reading("SZ-400", outcome=Outcome.IMPLAUSIBLE, campaign=town.other_campaign)
    town.reading("SZ-500HT", source=ReadingSource.ESTIMATE)
    with organisation_scope(town.org):
        CampaignMeter.objects.filter(pk=town.lines["SZ-400"].pk).update(
            control_requested_at=datetime.datetime(2027, 1, 5, tzinfo=datetime.UTC)
        )
    # only the effective version of this campaign counts
    assert with_campaign(town, outcome=Outcome.IMPLAUSIBLE) == ["WZ-100"]
    assert with_campaign(town, outcome=Outcome.OK) == ["GZ-300", "SZ-500HT", "WZ-101"]
    assert with_campaign(town, outcome=Outcome.WARNING) == ["wz-200"]
    assert with_campaign(town, state=ReviewState.REVIEWED) == ["WZ-101"]
    assert with_campaign(town, state=ReviewState.RELEASED) == ["GZ-300"]
    assert with_campaign(town, state=ReviewState.SUBMITTED) == ["SZ-500HT", "WZ-100", "wz-200"]
    assert with_campaign(town, source=ReadingSource.PHONE) == ["wz-200"]
    assert with_campaign(town, source=ReadingSource.ESTIMATE) == ["SZ-500HT"]
    assert with_campaign(town, state=NO_READING) == ["SZ-400", "SZ-500NT", "SZ-600"]
    assert with_campaign(town, control=True) == ["SZ-400"]
    assert with_campaign(town, kind="gas") == ["GZ-300"]
    assert numbers(town.org, kind="gas") == ["GZ-300"]
    assert with_campaign(town, state=ReviewState.SUBMITTED, source=ReadingSource.ONLINE) == [
        "WZ-100"
    ]
    assert with_campaign(town, term="mueller", outcome=Outcome.IMPLAUSIBLE) == ["WZ-100"]
    assert numbers(town.org, campaign=town.other_campaign, outcome=Outcome.IMPLAUSIBLE) == []


@pytest.mark.django_db
def test_rows_carry_their_effective_reading(town: Town) -> None:
    town.reading("WZ-101", outcome=Outcome.IMPLAUSIBLE)
    newest = town.reading("WZ-101", outcome=Outcome.OK)
    with organisation_scope(town.org):
        rows = MeterSearch(MeterQuery(campaign=town.campaign, term="wz-101")).page().rows
    assert [(row.id, row.reading) for row in rows] == [(town.lines["WZ-101"].pk, newest)]
    assert rows[0].meter.property.object_number == "1-001"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (
            "zaehler",
            ["GZ-300", "SZ-400", "SZ-500HT", "SZ-500NT", "SZ-600", "WZ-100", "WZ-101", "wz-200"],
        ),
        (
            "objekt",
            ["WZ-100", "WZ-101", "wz-200", "GZ-300", "SZ-400", "SZ-500HT", "SZ-500NT", "SZ-600"],
        ),
        # owners folded: "baeckerei …" < "kuehn" < "mueller anna" < "mueller joerg" < …
        (
            "name",
            ["SZ-500HT", "SZ-500NT", "SZ-600", "wz-200", "WZ-100", "WZ-101", "SZ-400", "GZ-300"],
        ),
        # streets folded: "" < "am muehlbach 3" < "gartenstrasse 1" < … < "strasse der einheit"
        (
            "strasse",
            ["SZ-500HT", "SZ-500NT", "GZ-300", "WZ-100", "WZ-101", "SZ-400", "wz-200", "SZ-600"],
        ),
    ],
)
def test_sorting(town: Town, sort: str, expected: list[str]) -> None:
    assert with_campaign(town, sort=sort) == expected
    backwards = with_campaign(town, sort=sort, descending=True)
    assert sorted(backwards) == sorted(expected)
    # descending: the keys in reverse order (rows with equal keys by id, also reversed)
    assert backwards == list(reversed(expected))


def walk(search: MeterSearch, size: int, *, backwards: bool = False) -> Iterator[list[int]]:
    """Every page, following "next" from the first page or "previous" from the last."""
    page = search.page(size=size, last=backwards)
    while True:
        yield [row.id for row in page.rows]
        if backwards and page.has_previous:
            page = search.page(size=size, before=page.first_id)
        elif not backwards and page.has_next:
            page = search.page(size=size, after=page.last_id)
        else:
            return


@pytest.fixture
def crowd(org: Organisation) -> Town:
    """37 meters; many share a name, a street or have two registers (ties in every sort)."""
    town = Town(org)
    names = ["Müller", "Mueller", "Schmidt", "Weiß"]
    for number in range(37):
        town.meter(
            f"M-{number % 7:02d}{'x' if number % 2 else 'X'}{number}",
            obj=f"{number % 5}-{number:03d}",
            last=names[number % 4],
            first="",
            street="Gartenstraße" if number % 3 else "Am Mühlbach",
            house=str(number % 2),
            codes=("HT", "NT") if number % 6 == 0 else ("",),
        )
    for line in list(town.lines)[::3]:
        town.reading(line, outcome=Outcome.IMPLAUSIBLE if line.endswith("3") else Outcome.OK)
    return town


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["zaehler", "objekt", "name", "strasse"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize(
    "filters",
    [{}, {"outcome": Outcome.OK}, {"state": NO_READING}, {"term": "mue"}],
    ids=["all", "ok", "none", "search"],
)
def test_keyset_pages_have_no_gaps_no_duplicates_and_a_stable_order(
    crowd: Town, sort: str, descending: bool, filters: dict[str, Any]
) -> None:
    query = MeterQuery(campaign=crowd.campaign, sort=sort, descending=descending, **filters)
    with organisation_scope(crowd.org):
        search = MeterSearch(query)
        everything = [row.id for row in search.page(size=1000).rows]
        forward = list(walk(search, 4))
        backward = list(walk(search, 4, backwards=True))
    assert everything, "the fixture gives every filter rows"
    assert [pk for page in forward for pk in page] == everything
    assert all(len(page) == 4 for page in forward[:-1])
    # backwards from the last page: the last page is full, the first may be short
    assert [pk for page in reversed(backward) for pk in page] == everything
    assert all(len(page) == 4 for page in backward[:-1])
    assert len(set(everything)) == len(everything)


@pytest.mark.django_db
def test_keyset_pages_without_campaign_and_with_many_hits(
    crowd: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_service, "FEW_HITS", 3)
    queries = [
        MeterQuery(sort="name"),
        MeterQuery(term="m-0"),
        MeterQuery(term="weiss"),
        MeterQuery(term="weiss", sort="name", descending=True),  # many hits, sorted by them
        MeterQuery(term="garten", sort="objekt", campaign=crowd.campaign),
        MeterQuery(term="mue", sort="name", campaign=crowd.campaign),
    ]
    for query in queries:
        with organisation_scope(crowd.org):
            search = MeterSearch(query)
            everything = [row.id for row in search.page(size=1000).rows]
            forward = [pk for page in walk(search, 5) for pk in page]
        assert forward == everything, query


@pytest.mark.django_db
def test_pages_flags_and_a_cursor_that_is_gone(crowd: Town) -> None:
    with organisation_scope(crowd.org):
        search = MeterSearch(MeterQuery(campaign=crowd.campaign))
        first = search.page(size=10)
        second = search.page(size=10, after=first.last_id)
        last = search.page(size=10, last=True)
        assert (first.has_previous, first.has_next) == (False, True)
        assert (second.has_previous, second.has_next) == (True, True)
        assert (last.has_previous, last.has_next) == (True, False)
        assert search.page(size=10, before=second.first_id).rows == first.rows
        with pytest.raises(CursorGone):
            search.page(after=999_999_999)
        other = Town(Organisation.objects.create(slug="andere", name="Andere"))
        foreign = other.meter("F-1", obj="F")
    with organisation_scope(crowd.org), pytest.raises(CursorGone):
        MeterSearch(MeterQuery()).page(after=foreign.pk)


def test_sort_paths_end_with_the_row() -> None:
    """A property's key is followed by the property's own id (its index ends with it)."""
    assert sort_paths(MeterQuery()) == ("number_key", "pk")
    campaign = Campaign(pk=1)
    assert sort_paths(MeterQuery(campaign=campaign)) == ("register__meter__number_key", "pk")
    assert sort_paths(MeterQuery(campaign=campaign, sort="name")) == (
        "prop__owner_key",
        "prop__id",
        "pk",
    )
