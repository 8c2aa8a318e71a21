"""Meter-list formats: pure Python (no Django) readers, validation and writers.

Typical use by the import service::

    detected = detect(path, filename)                  # or with overrides
    mapping = propose_mapping(detected.header, FINANZ_PLUS_STANDARD)
    validator = Validator(profile, detected.header, today=date.today())
    for line, cells in iter_rows(path, detected, limits=Limits()):
        result = validator.feed(line, cells)           # MeterRow | list[RowError]
    errors += validator.finish()
    layout = FileLayout.from_detected(detected).to_dict()
"""

from ablesung.formats.errors import FormatError
from ablesung.formats.fields import (
    DEFAULT_DIGITS,
    DEFAULT_METER_KIND,
    EXPORT_COLUMNS,
    EXPORT_FIELDS,
    FIELDS,
    FIELDS_BY_NAME,
    METER_KIND_LABELS,
    REQUIRED_FIELDS,
    FieldKind,
    FieldSpec,
    normalise,
    parse_meter_kind,
    parse_register_code,
)
from ablesung.formats.layout import FileLayout, write_csv
from ablesung.formats.limits import Limits, check_rows, check_size, check_xlsx_container
from ablesung.formats.profile import FINANZ_PLUS_STANDARD, Profile, propose_mapping
from ablesung.formats.reader import iter_rows, iter_rows_typed
from ablesung.formats.return_file import ExportValue, ReturnFile
from ablesung.formats.sniff import Detected, detect, detect_csv
from ablesung.formats.validate import (
    MeterRow,
    RowBlock,
    RowError,
    Validator,
    parse_date,
    parse_number,
    resolve_columns,
)
from ablesung.formats.xlsx import JsonCell, cell_from_json, cell_to_json, cell_to_str

__all__ = [
    "DEFAULT_DIGITS",
    "DEFAULT_METER_KIND",
    "EXPORT_COLUMNS",
    "EXPORT_FIELDS",
    "FIELDS",
    "FIELDS_BY_NAME",
    "FINANZ_PLUS_STANDARD",
    "METER_KIND_LABELS",
    "REQUIRED_FIELDS",
    "Detected",
    "ExportValue",
    "FieldKind",
    "FieldSpec",
    "FileLayout",
    "FormatError",
    "JsonCell",
    "Limits",
    "MeterRow",
    "Profile",
    "ReturnFile",
    "RowBlock",
    "RowError",
    "Validator",
    "cell_from_json",
    "cell_to_json",
    "cell_to_str",
    "check_rows",
    "check_size",
    "check_xlsx_container",
    "detect",
    "detect_csv",
    "iter_rows",
    "iter_rows_typed",
    "normalise",
    "parse_date",
    "parse_meter_kind",
    "parse_number",
    "parse_register_code",
    "propose_mapping",
    "resolve_columns",
    "write_csv",
]
