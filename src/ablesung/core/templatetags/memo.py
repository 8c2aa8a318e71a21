"""``{% memo "name" value … %}…{% endmemo %}``: a fragment rendered once per process for
each combination of the given values, then reused.

For the parts of a page that are the same on every request, such as the footer's links,
the brand or the meter page's back and help links: their ``{% url %}`` and ``{% translate %}`` tags
cost about 120,000 and 80,000 instructions each, a cached fragment about 5,000.

The key holds the name, the values (resolved in the context), the active language, the
script prefix, the autoescape setting and the name of the template being rendered (a
child template can override a ``{% block %}`` inside the fragment). **Everything the
fragment shows must therefore be either fixed text or one of the values**: never a CSRF
token, a nonce, the request, messages, a form or anything else that changes per request.

The cache belongs to the process and holds at most ``MAX_ENTRIES`` fragments; when it is
full it starts again empty. A value that cannot be a dictionary key (a list, say) renders
the fragment without caching it. Threads may render the same fragment twice at worst.
"""

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.template.base import FilterExpression, Node, NodeList, Parser, Token
from django.template.context import Context
from django.urls import get_script_prefix
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

MAX_ENTRIES = 4096
_fragments: dict[tuple[Any, ...], SafeString] = {}


def clear(**_kwargs: object) -> None:
    """Forgets every fragment: when a test changes a setting (static files, say), and
    for tests; a new deployment starts new processes anyway."""
    _fragments.clear()


setting_changed.connect(clear, dispatch_uid="ablesung.memo")


class MemoNode(Node):
    def __init__(self, nodelist: NodeList, name: str, values: list[FilterExpression]) -> None:
        self.nodelist = nodelist
        self.name = name
        self.values = values

    def render(self, context: Context) -> SafeString:
        template_name = context.template.name if context.template is not None else None
        key = (
            self.name,
            template_name,
            get_language(),
            get_script_prefix(),
            context.autoescape,
            *(value.resolve(context) for value in self.values),
        )
        try:
            return _fragments[key]
        except KeyError:
            pass
        except TypeError:  # a value that is no dictionary key: render without the cache
            return SafeString(self.nodelist.render(context))
        fragment = SafeString(self.nodelist.render(context))
        if len(_fragments) >= MAX_ENTRIES:
            _fragments.clear()
        _fragments[key] = fragment
        return fragment


@register.tag
def memo(parser: Parser, token: Token) -> MemoNode:
    """``{% memo "name" value … %}`` … ``{% endmemo %}``"""
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(
            f"{bits[0]} needs a quoted name first: {{% memo 'footer' value … %}}"
        )
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    return MemoNode(nodelist, bits[1][1:-1], [parser.compile_filter(bit) for bit in bits[2:]])
