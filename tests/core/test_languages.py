from django.test import Client, override_settings
from django.utils import translation

from ablesung.core.templatetags.languages import other_languages


def test_the_switcher_offers_every_other_language_in_its_own_name() -> None:
    with translation.override("de"):
        assert other_languages() == (("en", "English"),)
    with translation.override("en"):
        assert other_languages() == (("de", "Deutsch"),)


@override_settings(LANGUAGES=[("de", "Deutsch"), ("en", "English"), ("fr", "Français")])
def test_it_follows_the_configured_languages() -> None:
    with translation.override("en"):
        assert other_languages() == (("de", "Deutsch"), ("fr", "Français"))


def test_pages_show_the_switcher() -> None:
    page = Client().get("/hilfe/ablesen/", HTTP_ACCEPT_LANGUAGE="de")
    assert (
        '<button type="submit" name="language" value="en" lang="en" '
        'class="kern-btn kern-btn--tertiary kern-btn--x-small">'
        '<span class="kern-label">English</span></button>'
    ) in page.text
    assert 'value="de" lang="de"' not in page.text
