"""The language switcher of every page: the languages other than the current one."""

from functools import cache

from django import template
from django.conf import settings
from django.utils.text import capfirst
from django.utils.translation import get_language, get_language_info

register = template.Library()


@cache
def _others(current: str, languages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (code, capfirst(get_language_info(code)["name_local"]))
        for code in languages
        if code != current
    )


@register.simple_tag
def other_languages() -> tuple[tuple[str, str], ...]:
    """``(code, name in that language)`` of each language but the current one, in the
    order of ``LANGUAGES``; worked out once per language (the header of every page asked
    Django for the whole list and its details on each request)."""
    return _others(get_language(), tuple(code for code, _name in settings.LANGUAGES))
