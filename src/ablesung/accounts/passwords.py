"""Password rules beyond Django's: common passwords also with digits or punctuation around them.

``passwort12345`` passes a plain list look-up ("passwort12345" is in no list) but is the word
"passwort" with a counter behind it. The validator checks the password as typed and its core
without leading and trailing digits, spaces and punctuation, against one list each: Django's
English list (20,000 entries) and our German list (``common-passwords-de.txt``, written for
this project: common German passwords, words and names, lower case, one a line).
"""

import gzip
import string
from pathlib import Path
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_EDGES = string.digits + string.punctuation + string.whitespace + "§€°´"


def _core(password: str) -> str:
    return password.lower().strip(_EDGES)


class CommonPasswordValidator(password_validation.CommonPasswordValidator):
    """Rejects a password whose lower-case form, or its core, is in the list."""

    #: a core shorter than this is no word of the list (e.g. "a" in "a1234567890!")
    MIN_CORE = 4

    def __init__(self, password_list_path: Path | str | None = None) -> None:
        if password_list_path is None:
            super().__init__()
            return
        path = Path(password_list_path)
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            self.passwords = {
                line.strip().lower() for line in lines if line.strip() and line[0] != "#"
            }

    def validate(self, password: str, user: Any = None) -> None:
        typed = password.lower().strip()
        core = _core(password)
        if typed in self.passwords or (len(core) >= self.MIN_CORE and core in self.passwords):
            raise ValidationError(
                _(
                    "Dieses Passwort ist zu üblich (ein verbreitetes Passwort oder Wort). "
                    "Bitte wählen Sie ein anderes."
                ),
                code="password_too_common",
            )

    def get_help_text(self) -> str:
        return _("Das Passwort darf kein verbreitetes Passwort sein.")
