"""Inputs the project's forms need, shared by the tests that render every form."""

from ablesung.core.models import CampaignMeter, Register
from ablesung.formats import Detected


def reading_lines() -> list[CampaignMeter]:
    """A meter form's lines: one single register, HT and NT."""
    return [
        CampaignMeter(register=Register(pk=pk, code=code))
        for pk, code in ((11, ""), (12, "HT"), (13, "NT"))
    ]


def detected() -> Detected:
    """A CSV layout for the mapping form, with header cells that need escaping."""
    return Detected(
        kind="csv",
        encoding="utf-8",
        separator=";",
        quotechar='"',
        line_end="\n",
        header_row=1,
        header=["Zähler<nr>", "Stand & Datum", "Datum", ""],
        sheets=["Blatt 1"],
    )
