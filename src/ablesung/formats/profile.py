"""Import profiles: which column holds which field, plus date/number conventions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ablesung.formats.errors import FormatError
from ablesung.formats.fields import (
    EXPORT_COLUMNS,
    EXPORT_FIELDS_BY_NAME,
    FIELDS,
    FIELDS_BY_NAME,
    normalise,
)

DATE_FORMATS: tuple[str, ...] = ("DD.MM.YYYY", "YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY")
ENCODINGS: tuple[str, ...] = ("cp1252", "utf-8", "utf-8-sig")
SEPARATORS: tuple[str, ...] = (";", ",", "\t")
PROFILE_VERSION = 1


@dataclass(slots=True)
class Profile:
    """A named mapping ``field name → column header`` and the file's conventions.

    ``encoding``, ``separator``, ``header_row`` and ``sheet`` are optional overrides of
    what :func:`ablesung.formats.detect` finds; ``None`` means "detect". ``columns`` may
    also name the return file's columns (``EXPORT_FIELDS``, e.g. ``key_date_value``) where a
    file calls them differently from their labels and synonyms.
    """

    name: str
    columns: dict[str, str]
    date_format: str = "DD.MM.YYYY"
    decimal_comma: bool = True
    encoding: str | None = None
    separator: str | None = None
    header_row: int | None = None
    sheet: str | None = None
    decimals_by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for a database JSON field."""
        return {
            "version": PROFILE_VERSION,
            "name": self.name,
            "columns": dict(self.columns),
            "date_format": self.date_format,
            "decimal_comma": self.decimal_comma,
            "encoding": self.encoding,
            "separator": self.separator,
            "header_row": self.header_row,
            "sheet": self.sheet,
            "decimals_by_kind": dict(self.decimals_by_kind),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`; raises :class:`FormatError` on bad data."""

        def bad(what: str) -> FormatError:
            return FormatError(f"Das Importprofil ist ungültig: {what}.")

        if not isinstance(data, Mapping):
            raise bad("keine Zuordnung")
        name = data.get("name", "")
        columns = data.get("columns", {})
        if not isinstance(name, str):
            raise bad("Name fehlt")
        if not isinstance(columns, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise bad("Spaltenzuordnung fehlt")
        unknown = sorted(set(columns) - set(FIELDS_BY_NAME) - set(EXPORT_FIELDS_BY_NAME))
        if unknown:
            raise bad(f"unbekanntes Feld „{unknown[0]}“")
        date_format = data.get("date_format", "DD.MM.YYYY")
        if date_format not in DATE_FORMATS:
            raise bad(f"unbekanntes Datumsformat „{date_format}“")
        decimal_comma = data.get("decimal_comma", True)
        if not isinstance(decimal_comma, bool):
            raise bad("Dezimalkomma muss ja oder nein sein")
        encoding = data.get("encoding")
        if encoding is not None and encoding not in ENCODINGS:
            raise bad(f"unbekannte Kodierung „{encoding}“")
        separator = data.get("separator")
        if separator is not None and separator not in SEPARATORS:
            raise bad("unbekanntes Trennzeichen")
        header_row = data.get("header_row")
        if header_row is not None and (
            not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1
        ):
            raise bad("Kopfzeile muss eine positive Zahl sein")
        sheet = data.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            raise bad("Tabellenblatt muss ein Name sein")
        decimals = data.get("decimals_by_kind", {})
        if not isinstance(decimals, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and 0 <= v <= 4 for k, v in decimals.items()
        ):
            raise bad("Nachkommastellen je Zählerart ungültig")
        return cls(
            name=name,
            columns=dict(columns),
            date_format=date_format,
            decimal_comma=decimal_comma,
            encoding=encoding,
            separator=separator,
            header_row=header_row,
            sheet=sheet,
            decimals_by_kind=dict(decimals),
        )


FINANZ_PLUS_STANDARD = Profile(
    name="FINANZ+ (Standard)",
    columns={spec.name: spec.label for spec in FIELDS},
    date_format="DD.MM.YYYY",
    decimal_comma=True,
)


def _candidates(field_name: str, profile: Profile) -> list[str]:
    spec = FIELDS_BY_NAME[field_name]
    names = []
    if field_name in profile.columns:
        names.append(profile.columns[field_name])
    names.append(spec.label)
    names.extend(spec.synonyms)
    return [normalise(n) for n in names]


def propose_mapping(header: list[str], profile: Profile) -> dict[str, str]:
    """Propose ``field → column header`` for ``header`` using ``profile``.

    The profile's own column names win, then the default labels, then synonyms;
    matching ignores case, spaces, punctuation and umlaut spelling
    ("Zaehlernummer", "Zählernr." both find the meter number). Every column is used
    at most once; fields without a matching column are left out.
    """
    keys = [normalise(h) for h in header]
    used: set[int] = set()
    mapping: dict[str, str] = {}
    # Exact header text of the profile first, then normalised names in priority order.
    for spec in FIELDS:
        wanted = profile.columns.get(spec.name)
        if wanted is not None and wanted in header:
            index = header.index(wanted)
            if index not in used:
                mapping[spec.name] = wanted
                used.add(index)
    for level in range(max(len(spec.synonyms) for spec in FIELDS) + 2):
        for spec in FIELDS:
            if spec.name in mapping:
                continue
            cands = _candidates(spec.name, profile)
            if level >= len(cands):
                continue
            for index, key in enumerate(keys):
                if index not in used and key and key == cands[level]:
                    mapping[spec.name] = header[index]
                    used.add(index)
                    break
    return mapping


KNOWN_HEADER_KEYS: frozenset[str] = frozenset(
    [normalise(spec.label) for spec in FIELDS]
    + [normalise(s) for spec in FIELDS for s in spec.synonyms]
    + [normalise(c) for c in EXPORT_COLUMNS]
)


def header_score(cells: list[str]) -> int:
    """How many cells of a row look like known column names (for header detection)."""
    return sum(1 for c in cells if normalise(c) in KNOWN_HEADER_KEYS)
