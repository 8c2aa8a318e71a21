"""Backend forms: import upload, layout overrides, column mapping."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ablesung.formats import EXPORT_FIELDS, FIELDS, Detected, Profile
from ablesung.formats.return_file import export_columns

DATE_INPUT_FORMATS = ["%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d"]
KERN_INPUT = {"class": "kern-form-input__input"}
KERN_SELECT = {"class": "kern-form-input__select"}
ENCODINGS = [
    ("", _("automatisch erkennen")),
    ("cp1252", "Windows-1252"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", _("UTF-8 mit BOM")),
]
SEPARATORS = [
    ("", _("automatisch erkennen")),
    (";", _("Semikolon ;")),
    (",", _("Komma ,")),
    ("\t", _("Tabulator")),
]
DATE_FORMATS = [
    ("DD.MM.YYYY", "TT.MM.JJJJ"),
    ("DD/MM/YYYY", "TT/MM/JJJJ"),
    ("MM/DD/YYYY", "MM/TT/JJJJ"),
]


class UploadForm(forms.Form):
    campaign = forms.TypedChoiceField(
        label=_("Ableseaktion"),
        coerce=int,
        required=False,
        empty_value=None,
        widget=forms.Select(attrs=KERN_SELECT),
        help_text=_(
            "Nur Ableseaktionen im Entwurf oder offene. Oder legen Sie unten eine neue an."
        ),
    )
    new_campaign_name = forms.CharField(
        label=_("Neue Ableseaktion: Name"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs=KERN_INPUT),
    )
    new_key_date = forms.DateField(
        label=_("Neue Ableseaktion: Stichtag"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(
            attrs={**KERN_INPUT, "placeholder": "31.12.2026"}, format="%d.%m.%Y"
        ),
        help_text=_("Format TT.MM.JJJJ"),
    )
    file = forms.FileField(
        label=_("Zählerliste (CSV oder Excel)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx", **KERN_INPUT}),
    )
    profile = forms.ChoiceField(label=_("Importprofil"), widget=forms.Select(attrs=KERN_SELECT))

    def __init__(
        self, *args: Any, campaigns: list[tuple[int, str]], profiles: list[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", _("– neue Ableseaktion –")), *campaigns]  # type: ignore[attr-defined]
        self.fields["profile"].choices = [(name, name) for name in profiles]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("campaign") is None:
            if not data.get("new_campaign_name"):
                self.add_error(
                    "new_campaign_name",
                    _(
                        "Bitte wählen Sie eine Ableseaktion oder geben Sie einen Namen für eine neue an."
                    ),
                )
            if not data.get("new_key_date") and "new_key_date" not in self.errors:
                self.add_error(
                    "new_key_date", _("Bitte geben Sie den Stichtag der neuen Ableseaktion an.")
                )
        return data


class MappingForm(forms.Form):
    """Detected layout (overridable) and the column of every import field."""

    encoding = forms.ChoiceField(
        label=_("Zeichenkodierung"),
        choices=ENCODINGS,
        required=False,
        widget=forms.Select(attrs=KERN_SELECT),
    )
    separator = forms.ChoiceField(
        label=_("Trennzeichen"),
        choices=SEPARATORS,
        required=False,
        widget=forms.Select(attrs=KERN_SELECT),
    )
    header_row = forms.IntegerField(
        label=_("Kopfzeile (Zeilennummer)"),
        min_value=1,
        max_value=50,
        required=False,
        widget=forms.NumberInput(attrs=KERN_INPUT),
    )
    sheet = forms.ChoiceField(
        label=_("Tabellenblatt"), required=False, widget=forms.Select(attrs=KERN_SELECT)
    )
    date_format = forms.ChoiceField(
        label=_("Datumsformat"), choices=DATE_FORMATS, widget=forms.Select(attrs=KERN_SELECT)
    )
    decimal_comma = forms.BooleanField(
        label=_("Dezimalkomma (1.234,5)"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "kern-form-check__checkbox"}),
    )
    save_as = forms.CharField(
        label=_("Zuordnung als Importprofil speichern unter"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs=KERN_INPUT),
        help_text=_("Leer lassen, wenn die Zuordnung nicht gespeichert werden soll."),
    )

    def __init__(self, *args: Any, detected: Detected, profile: Profile, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.detected = detected
        columns = [("", _("– nicht in der Datei –"))] + [
            (name, name) for name in detected.header if name
        ]
        self.fields["sheet"].choices = [(s, s) for s in detected.sheets] or [("", "–")]  # type: ignore[attr-defined]
        for spec in FIELDS:
            self.fields[f"col_{spec.name}"] = forms.ChoiceField(
                label=spec.label,
                choices=columns,
                required=spec.required,
                widget=forms.Select(attrs=KERN_SELECT),
                error_messages={"required": _("Pflichtfeld: bitte eine Spalte zuordnen.")},
            )
        automatic = [("", _("– automatisch –")), *columns[1:]]
        for export_spec in EXPORT_FIELDS:
            self.fields[f"exp_{export_spec.name}"] = forms.ChoiceField(
                label=export_spec.label,
                choices=automatic,
                required=False,
                widget=forms.Select(attrs=KERN_SELECT),
            )

    def mapping_fields(self) -> list[forms.BoundField]:
        return [self[f"col_{spec.name}"] for spec in FIELDS]

    def export_fields(self) -> list[forms.BoundField]:
        """The return file's columns: chosen here where the file names them differently."""
        return [self[f"exp_{spec.name}"] for spec in EXPORT_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        imported = {cleaned.get(f"col_{spec.name}") for spec in FIELDS} - {"", None}
        chosen: set[str] = set()
        for spec in EXPORT_FIELDS:
            column = cleaned.get(f"exp_{spec.name}")
            if not column:
                continue
            if column in imported:
                self.add_error(
                    f"exp_{spec.name}",
                    _(
                        "Diese Spalte wird schon eingelesen; die Rückgabedatei braucht eine "
                        "eigene Spalte."
                    ),
                )
            elif column in chosen:
                self.add_error(
                    f"exp_{spec.name}", _("Diese Spalte ist schon einem anderen Feld zugeordnet.")
                )
            chosen.add(column)
        return cleaned

    def layout_fields(self) -> list[forms.BoundField]:
        names = (
            ["encoding", "separator", "header_row"]
            if self.detected.kind == "csv"
            else ["sheet", "header_row"]
        )
        return [self[name] for name in names]

    def profile(self, name: str) -> Profile:
        data = self.cleaned_data
        columns = {
            spec.name: data[f"col_{spec.name}"] for spec in FIELDS if data.get(f"col_{spec.name}")
        }
        for export_spec in EXPORT_FIELDS:
            if data.get(f"exp_{export_spec.name}"):
                columns[export_spec.name] = data[f"exp_{export_spec.name}"]
        return Profile(
            name=name,
            columns=columns,
            date_format=data["date_format"],
            decimal_comma=bool(data.get("decimal_comma")),
        )

    def overrides(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "encoding": data.get("encoding") or None,
            "separator": data.get("separator") or None,
            "header_row": data.get("header_row") or None,
            "sheet": data.get("sheet") or None,
        }


def initial_mapping(
    detected: Detected, profile: Profile, proposed: dict[str, str]
) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "encoding": detected.encoding if detected.kind == "csv" else "",
        "separator": detected.separator,
        "header_row": detected.header_row,
        "sheet": detected.sheet or "",
        "date_format": profile.date_format,
        "decimal_comma": profile.decimal_comma,
    }
    for spec in FIELDS:
        initial[f"col_{spec.name}"] = proposed.get(spec.name, "")
    # a return-file column the profile names explicitly; the others stay "automatic"
    header = [name for name in detected.header if name]
    for export_spec in EXPORT_FIELDS:
        column = profile.columns.get(export_spec.name, "")
        initial[f"exp_{export_spec.name}"] = column if column in header else ""
    return initial


def automatic_export_columns(detected: Detected, profile: Profile) -> list[tuple[str, str]]:
    """(label, column) of the return file's columns found by name in the file."""
    found = export_columns(list(detected.header), profile)
    return [
        (spec.label, detected.header[found[spec.name]])
        for spec in EXPORT_FIELDS
        if spec.name in found
    ]
