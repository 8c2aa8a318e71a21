"""E-mail addresses of properties: which look usable, and who is one person (pure)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


def person_key(email: str) -> str:
    """One person per address: compared without case and surrounding spaces."""
    return email.strip().casefold()


def looks_valid(email: str) -> bool:
    """A syntactically valid address whose domain has a dot (``name@localhost`` is not)."""
    address = email.strip()
    try:
        validate_email(address)
    except ValidationError:
        return False
    return "." in address.rpartition("@")[2]


@dataclass(frozen=True)
class Entry:
    """One property with its address, as the grouping sees it."""

    property_id: int
    object_number: str
    email: str


@dataclass(frozen=True)
class Person:
    """One recipient: an address (as first written) and the properties that carry it."""

    email: str
    entries: tuple[Entry, ...]


def group_by_person(entries: Iterable[Entry]) -> list[Person]:
    """The entries grouped by :func:`person_key`, people and their entries in a stable order
    (by address, then object number); entries without a valid address are left out."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        if looks_valid(entry.email):
            groups.setdefault(person_key(entry.email), []).append(entry)
    people = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda item: (item.object_number, item.property_id))
        people.append(Person(email=members[0].email.strip(), entries=tuple(members)))
    return people
