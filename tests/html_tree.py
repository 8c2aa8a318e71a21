"""A small view on rendered HTML for tests: Django's own parser (``django.test.html``),
elements found by tag and attributes."""

from django.test.html import Element, parse_html


def parse(html: str) -> Element:
    root: Element = parse_html(html)
    return root


def find_all(node: Element | str, tag: str, /, **attrs: str) -> list[Element]:
    """Every element ``tag`` below ``node`` whose attributes include ``attrs``
    (``class_`` for ``class``; a class matches one of the element's classes)."""
    found: list[Element] = []
    if not isinstance(node, Element):
        return found
    if node.name == tag and _matches(node, attrs):
        found.append(node)
    for child in node.children:
        found.extend(find_all(child, tag, **attrs))
    return found


def _matches(element: Element, wanted: dict[str, str]) -> bool:
    have = attributes(element)
    for key, value in wanted.items():
        if key == "class_":
            if value not in (have.get("class") or "").split():
                return False
        elif have.get(key) != value:
            return False
    return True


def find(node: Element, tag: str, /, **attrs: str) -> Element:
    [element] = find_all(node, tag, **attrs)
    return element


def attributes(element: Element) -> dict[str, str | None]:
    return dict(element.attributes)


def text(node: Element | str) -> str:
    if isinstance(node, str):
        return node
    return " ".join(text(child) for child in node.children).strip()


def described_by(element: Element) -> list[str]:
    return (attributes(element).get("aria-describedby") or "").split()
