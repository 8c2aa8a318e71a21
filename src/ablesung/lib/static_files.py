"""Static files in production: whitenoise's compressed manifest storage, whose URLs are
worked out once per name and process.

Every page's layout asks for the URLs of its style sheets and scripts; Django cleans the
name, looks it up in the manifest and quotes and joins the URL on every call (about 30 µs
for each ``{% static %}``). The manifest is read when the storage is created and does not
change while the process runs, so the answer for a name does not change either.
"""

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage

#: more distinct names than any layout asks for; beyond it, URLs are worked out each time
MAX_REMEMBERED = 1024


class RememberingManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """``url(name)`` worked out once per name; ``force=True`` and unknown names (which
    raise) are passed on every time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name: str | None, force: bool = False) -> str:
        if force or name is None:
            forced: str = super().url(name, force)
            return forced
        try:
            return self._urls[name]
        except KeyError:
            url: str = super().url(name)
            if len(self._urls) < MAX_REMEMBERED:
                self._urls[name] = url
            return url
