import json
from pathlib import Path
from typing import Any

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from ablesung.lib.static_files import MAX_REMEMBERED, RememberingManifestStaticFilesStorage

PATHS = {"ablesung/app.css": "ablesung/app.1a2b3c.css", "htmx/htmx.min.js": "htmx/htmx.min.9f8e.js"}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    manifest = {"version": "1.1", "hash": "0", "paths": PATHS}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return tmp_path


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The names whitenoise's own ``url()`` is asked for."""
    names: list[str | None] = []
    plain = CompressedManifestStaticFilesStorage.url

    def spy(self: Any, name: str | None, force: bool = False) -> str:
        names.append(name)
        url: str = plain(self, name, force)
        return url

    monkeypatch.setattr(CompressedManifestStaticFilesStorage, "url", spy)
    return names


def _storage(root: Path) -> RememberingManifestStaticFilesStorage:
    return RememberingManifestStaticFilesStorage(location=str(root), base_url="/static/")


def test_each_url_is_worked_out_once_and_is_the_manifest_url(
    root: Path, asked: list[str | None]
) -> None:
    storage = _storage(root)
    plain = CompressedManifestStaticFilesStorage(location=str(root), base_url="/static/")
    for _ in range(3):
        for name in PATHS:
            assert storage.url(name) == f"/static/{PATHS[name]}"
    assert asked == list(PATHS)
    assert [storage.url(name) for name in PATHS] == [plain.url(name) for name in PATHS]


def test_unknown_names_and_forced_urls_are_passed_on_every_time(
    root: Path, asked: list[str | None]
) -> None:
    storage = _storage(root)
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("nicht/da.css")
        assert storage.url("ablesung/app.css", force=True) == "/static/ablesung/app.1a2b3c.css"
    assert asked == ["nicht/da.css", "ablesung/app.css"] * 2


def test_it_remembers_a_bounded_number_of_names(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ablesung.lib.static_files.MAX_REMEMBERED", 1)
    storage = _storage(root)
    assert [storage.url(name) for name in PATHS] == [f"/static/{path}" for path in PATHS.values()]
    assert list(storage._urls) == ["ablesung/app.css"]
    assert MAX_REMEMBERED >= 100
