"""The chunk-wise fast path of the validator gives exactly what row-by-row feeding gives."""

import random
from collections.abc import Sequence

import pytest

from ablesung.formats import (
    FINANZ_PLUS_STANDARD,
    Limits,
    MeterRow,
    Profile,
    RowBlock,
    RowError,
    Validator,
    detect,
    iter_rows,
)
from tests.formats.helpers import CLEAN, DIRTY, TODAY


def rows_of(path: object) -> tuple[list[str], list[tuple[int, list[str]]]]:
    detected = detect(path, "liste.csv")  # type: ignore[arg-type]
    return detected.header, list(iter_rows(path, detected, limits=Limits()))  # type: ignore[arg-type]


def row_by_row(
    header: list[str], rows: Sequence[tuple[int, list[str]]], profile: Profile
) -> list[MeterRow | list[RowError]]:
    validator = Validator(profile, header, today=TODAY)
    return [validator.feed(line, cells) for line, cells in rows]


def chunk_wise(
    header: list[str], rows: Sequence[tuple[int, list[str]]], profile: Profile, size: int
) -> tuple[list[MeterRow | list[RowError]], int]:
    """As the import service does it: the chunk at once, row by row only when refused."""
    validator = Validator(profile, header, today=TODAY)
    results: list[MeterRow | list[RowError]] = []
    fast = 0
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        block = validator.feed_block([line for line, _ in part], [cells for _, cells in part])
        if block is None:
            results.extend(validator.feed(line, cells) for line, cells in part)
        else:
            fast += 1
            results.extend(block.rows())
    assert validator.rows == len(rows)
    return results, fast


@pytest.mark.parametrize("size", [1, 3, 50, 5000])
def test_clean_sample_takes_the_fast_path_with_identical_rows(size: int) -> None:
    header, rows = rows_of(CLEAN)
    results, fast = chunk_wise(header, rows, FINANZ_PLUS_STANDARD, size)
    assert results == row_by_row(header, rows, FINANZ_PLUS_STANDARD)
    assert fast == -(-len(rows) // size)


@pytest.mark.parametrize("size", [1, 4, 5000])
def test_dirty_sample_gives_the_same_errors(size: int) -> None:
    header, rows = rows_of(DIRTY)
    results, _ = chunk_wise(header, rows, FINANZ_PLUS_STANDARD, size)
    assert results == row_by_row(header, rows, FINANZ_PLUS_STANDARD)


MUTATIONS = [
    ("Objektnummer", ""),
    ("Objektnummer", "x" * 51),
    ("Kassenzeichen", "K-ANDERS"),
    ("Name", "Anders"),
    ("Name", "  "),
    ("Vorname", " Anna "),
    ("Straße", "y" * 201),
    ("Zählernummer", "DUP"),
    ("Zählerart", "Ölzähler"),
    ("Zählerart", "Stromzähler"),
    ("Stellen", "13"),
    ("Stellen", "3"),
    ("Stellen", ""),
    ("Ablesedatum alt", "31.02.2025"),
    ("Ablesedatum alt", "01.01.2099"),
    ("Ablesedatum alt", " "),
    ("Ablesedatum alt", "2025-03-04"),
    ("Zählerstand alt", "12,5"),
    ("Zählerstand alt", "1.234"),
    ("Zählerstand alt", "-1"),
    ("Zählerstand alt", "abc"),
    ("Zählerstand alt", "9999999"),
    ("Zählerstand alt", "0012"),
    ("Vorjahresverbrauch", ""),
    ("Vorjahresverbrauch", "12,50"),
    ("Vorjahresverbrauch", "١٢"),
    ("Bemerkung", "z" * 20_000),
]


def test_random_mutations_give_the_same_results() -> None:
    header, rows = rows_of(CLEAN)
    rng = random.Random(3)
    profiles = [
        FINANZ_PLUS_STANDARD,
        Profile.from_dict(
            {**FINANZ_PLUS_STANDARD.to_dict(), "decimals_by_kind": {"electricity": 1}}
        ),
    ]
    for round_ in range(60):
        mutated = [(line, list(cells)) for line, cells in rows]
        for _ in range(rng.choice((1, 1, 2, 4))):
            label, value = rng.choice(MUTATIONS)
            _line, cells = rng.choice(mutated)
            if label in header:
                if value == "DUP":
                    value = rng.choice(rows)[1][header.index(label)]
                cells[header.index(label)] = value
        if round_ % 10 == 0:
            rng.choice(mutated)[1].append("extra")
        profile = profiles[round_ % 2]
        expected = row_by_row(header, mutated, profile)
        for size in (1, 7, 5000):
            assert chunk_wise(header, mutated, profile, size)[0] == expected, (round_, size)


def test_block_round_trips_rows() -> None:
    header, rows = rows_of(CLEAN)
    valid = [r for r in row_by_row(header, rows, FINANZ_PLUS_STANDARD) if isinstance(r, MeterRow)]
    assert list(RowBlock.from_rows(valid).rows()) == valid
    assert len(RowBlock.from_rows(valid)) == len(valid)
