"""Writes a synthetic meter list in the default FINANZ+ layout (Windows-1252, `;`, CRLF).

About two meters per property, German names with umlauts, a few quoted cells.
"""

import csv
import random
from collections.abc import Iterator
from pathlib import Path

HEADER = [
    "Objektnummer", "Kassenzeichen", "Name", "Vorname", "Straße", "Hausnummer", "PLZ", "Ort",
    "Zählernummer", "Zählerart", "Stellen", "Ablesedatum alt", "Zählerstand alt",
    "Vorjahresverbrauch", "Ablesedatum neu", "Zählerstand neu", "Ableseart", "Bemerkung",
]  # fmt: skip
LAST = ["Müller", "Schmidt", "Weiß", "Schäfer", "Köhler", "Bäckerei Ähm; Inh. Groß", "Öztürk"]
FIRST = ["Monika", "René", "Jörg", "Anna", "", "Günter"]
STREETS = ["Gartenstraße", "Schulstraße", "Ringstraße", "Am Mühlbach", "Lindenallee"]


def rows(count: int, seed: int = 2026) -> Iterator[list[str]]:
    rng = random.Random(seed)
    meter = 10_000_000
    prop = 0
    written = 0
    while written < count:
        prop += 1
        owner = (rng.choice(LAST), rng.choice(FIRST))
        address = (rng.choice(STREETS), str(rng.randint(1, 200)), f"0911{rng.randint(0, 9)}")
        for index in range(min(rng.choice((1, 2, 2, 3)), count - written)):
            meter += 1
            digits = rng.choice((4, 5, 5, 6))
            yield [
                f"{prop % 9 + 1}-{prop:06d}-001",
                f"60.{prop:09d}",
                owner[0],
                owner[1],
                address[0],
                address[1],
                address[2],
                "Musterstadt",
                str(meter),
                "Gartenwasserzähler" if index else "Hauptwasserzähler",
                str(digits),
                f"{rng.randint(1, 28):02d}.{rng.choice((1, 12)):02d}.{2025 if rng.random() < 0.5 else 2026}".replace(
                    "12.2026", "12.2025"
                ),
                str(rng.randint(0, 10**digits - 1)),
                str(rng.randint(0, 300)),
                "",
                "",
                "",
                "",
            ]
            written += 1


def write(path: Path, count: int) -> Path:
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count))
    return path


def write_xlsx(path: Path, count: int) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("Zähler")
    sheet.write_row(0, 0, HEADER)
    for number, row in enumerate(rows(count), start=1):
        sheet.write_row(number, 0, row)
    workbook.close()
    return path
