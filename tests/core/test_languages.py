"""The language switcher in every page's header (Django's i18n tags): a button for each
language but the current one, named in its own language."""

import re

from django.test import Client, override_settings


def switcher(page: str) -> list[tuple[str, str, str]]:
    """(value, lang, name) of each language button."""
    return re.findall(
        r'<button type="submit" name="language" value="([^"]*)" lang="([^"]*)" '
        r'class="kern-btn kern-btn--tertiary kern-btn--x-small">'
        r'<span class="kern-label">([^<]*)</span></button>',
        page,
    )


def test_the_switcher_offers_every_other_language_in_its_own_name() -> None:
    client = Client()
    assert switcher(client.get("/hilfe/ablesen/").text) == [("en", "en", "English")]
    client.post("/i18n/setlang/", {"language": "en", "next": "/hilfe/ablesen/"})
    assert switcher(client.get("/hilfe/ablesen/").text) == [("de", "de", "Deutsch")]


@override_settings(LANGUAGES=[("de", "Deutsch"), ("en", "English"), ("fr", "Français")])
def test_it_follows_the_configured_languages() -> None:
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/hilfe/ablesen/"})
    assert switcher(client.get("/hilfe/ablesen/").text) == [
        ("de", "de", "Deutsch"),
        ("fr", "fr", "Français"),
    ]
