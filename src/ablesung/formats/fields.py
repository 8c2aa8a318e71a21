"""The import fields of a meter list, their German column names and meter kinds."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["text", "int", "decimal", "date", "meter_kind", "register_code"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field the import understands.

    ``label`` is the default column name of the "FINANZ+ (Standard)" profile (German);
    ``max_length`` bounds the text (the model's ``max_length``).
    """

    name: str
    label: str
    required: bool
    kind: FieldKind
    max_length: int
    synonyms: tuple[str, ...] = ()


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "object_number",
        "Objektnummer",
        True,
        "text",
        50,
        ("Objekt-Nr", "Objektnr", "ObjNr", "Objekt", "Anschlussnummer"),
    ),
    FieldSpec(
        "customer_number",
        "Kassenzeichen",
        True,
        "text",
        50,
        ("Kundennummer", "Kunden-Nr", "Kundennr", "Kassenz"),
    ),
    FieldSpec(
        "owner_last_name",
        "Name",
        True,
        "text",
        200,
        ("Nachname", "Name / Firma", "Name/Firma", "Firma", "Eigentümer", "Eigentuemer", "Name1"),
    ),
    FieldSpec("owner_first_name", "Vorname", False, "text", 100, ("Name2",)),
    FieldSpec("street", "Straße", True, "text", 200, ("Strasse", "Str", "Str.")),
    FieldSpec("house_number", "Hausnummer", False, "text", 20, ("Hausnr", "Haus-Nr", "HNr", "Nr")),
    FieldSpec("postal_code", "PLZ", False, "text", 10, ("Postleitzahl",)),
    FieldSpec("city", "Ort", False, "text", 100, ("Wohnort", "Stadt", "Ortsteil")),
    FieldSpec(
        "meter_number",
        "Zählernummer",
        True,
        "text",
        50,
        ("Zählernr", "Zähler-Nr", "Zaehlernummer", "Zählernummer alt", "Zähler"),
    ),
    FieldSpec("meter_kind", "Zählerart", False, "meter_kind", 50, ("Zählertyp", "Art")),
    FieldSpec(
        "digits", "Stellen", False, "int", 5, ("Vorkommastellen", "Stellenzahl", "Anzahl Stellen")
    ),
    FieldSpec(
        "previous_date",
        "Ablesedatum alt",
        True,
        "date",
        30,
        ("Datum alt", "Vorablesedatum", "Letztes Ablesedatum", "Ablesedatum Vorjahr"),
    ),
    FieldSpec(
        "previous_value",
        "Zählerstand alt",
        True,
        "decimal",
        30,
        ("Stand alt", "Vorwert", "Zählervorwert", "Letzter Zählerstand", "Zählerstand Vorjahr"),
    ),
    FieldSpec(
        "previous_year_consumption",
        "Vorjahresverbrauch",
        True,
        "decimal",
        30,
        ("Verbrauch Vorjahr", "Vorjahr", "Verbrauch"),
    ),
    FieldSpec("location_hint", "Einbauort", False, "text", 200, ("Lage", "Einbauort/Lage")),
    FieldSpec("email", "E-Mail", False, "text", 254, ("Email", "Mail", "E-Mail-Adresse")),
    FieldSpec(
        "register_code", "Zählwerk", False, "register_code", 10, ("Tarif", "HT/NT", "Tarifart")
    ),
    FieldSpec("decimals", "Nachkommastellen", False, "int", 5, ("Dezimalstellen",)),
)
FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(spec.name for spec in FIELDS if spec.required)

# Columns the return file fills; known, but ignored on import (kept in the raw cells).
EXPORT_COLUMNS: tuple[str, ...] = ("Ablesedatum neu", "Zählerstand neu", "Ableseart", "Bemerkung")


@dataclass(frozen=True, slots=True)
class ExportFieldSpec:
    """A column the return file fills: found by the profile's column name, its label or a
    synonym. ``always``: appended to a file that lacks it (the reading must reach the bill);
    the others are filled only where the file has them."""

    name: str
    label: str
    always: bool
    synonyms: tuple[str, ...] = ()


EXPORT_FIELDS: tuple[ExportFieldSpec, ...] = (
    ExportFieldSpec(
        "new_date",
        "Ablesedatum neu",
        True,
        ("Datum neu", "Neues Ablesedatum", "Ablesedatum aktuell"),
    ),
    ExportFieldSpec(
        "new_value",
        "Zählerstand neu",
        True,
        ("Stand neu", "Neuer Zählerstand", "Zählerstand aktuell", "Neustand"),
    ),
    ExportFieldSpec(
        "source_code", "Ableseart", True, ("Ablesekennzeichen", "Art der Ablesung", "Ablesegrund")
    ),
    ExportFieldSpec("comment", "Bemerkung", True, ("Bemerkungen", "Hinweis", "Kommentar")),
    ExportFieldSpec(
        "key_date_value",
        "Zählerstand Stichtag",
        False,
        ("Stand Stichtag", "Zählerstand zum Stichtag", "Stichtagsstand", "Hochgerechneter Stand"),
    ),
    ExportFieldSpec("key_date", "Stichtag", False, ("Stichtagsdatum", "Datum Stichtag")),
)
EXPORT_FIELDS_BY_NAME: dict[str, ExportFieldSpec] = {spec.name: spec for spec in EXPORT_FIELDS}

METER_KIND_LABELS: dict[str, str] = {
    "water_main": "Hauptwasserzähler",
    "water_garden": "Gartenwasserzähler",
    "water_sub": "Unterzähler",
    "electricity": "Stromzähler",
    "gas": "Gaszähler",
    "heat": "Wärmezähler",
}
DEFAULT_METER_KIND = "water_main"
WATER_KINDS: frozenset[str] = frozenset({"water_main", "water_garden", "water_sub"})

MIN_DIGITS = 1
MAX_DIGITS = 12
DEFAULT_DIGITS = 5
MAX_DECIMALS = 4

_TRANSLATE = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_DROP = str.maketrans("", "", " \t-_./:()#*'\"")


def normalise(text: str) -> str:
    """Key for case/space/umlaut-insensitive matching: "Zähler-Nr." → "zaehlernr"."""
    text = unicodedata.normalize("NFC", text).strip().lower().translate(_TRANSLATE)
    return text.translate(_DROP)


_METER_KINDS: dict[str, str] = {}
for _code, _label in METER_KIND_LABELS.items():
    _METER_KINDS[normalise(_label)] = _code
    _METER_KINDS[normalise(_code)] = _code
for _alias, _code in {
    "Hauptzähler": "water_main",
    "Wasserzähler": "water_main",
    "HWZ": "water_main",
    "Gartenzähler": "water_garden",
    "GWZ": "water_garden",
    "Zwischenzähler": "water_sub",
    "Strom": "electricity",
    "Gas": "gas",
    "Wärme": "heat",
    "Wärmemengenzähler": "heat",
}.items():
    _METER_KINDS[normalise(_alias)] = _code


def parse_meter_kind(value: str) -> str | None:
    """Map a "Zählerart" cell to a meter kind code; "" → water_main, unknown → None."""
    key = normalise(value)
    if not key:
        return DEFAULT_METER_KIND
    return _METER_KINDS.get(key)


REGISTER_CODES: dict[str, str] = {
    "": "",
    "ht": "HT",
    "nt": "NT",
    "hochtarif": "HT",
    "niedertarif": "NT",
}


def parse_register_code(value: str) -> str | None:
    """Map a "Zählwerk" cell to "" (single register), "HT" or "NT"; unknown → None."""
    return REGISTER_CODES.get(normalise(value))
