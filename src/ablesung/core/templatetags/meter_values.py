"""``{{ value|meter_value:decimals }}``: a meter reading written as the meter shows it."""

from decimal import Decimal

from django import template
from django.utils import numberformat
from django.utils.formats import get_format

register = template.Library()


@register.filter
def meter_value(value: Decimal | int | str | None, decimals: int | str | None = None) -> str:
    """``Decimal("99999.0000")`` → ``99999``, ``Decimal("1234.5600")`` with 3 decimals →
    ``1234,560`` (English ``1234.560``).

    Never grouped in thousands, whatever ``USE_THOUSAND_SEPARATOR`` says: "99.999 m³"
    reads as a decimal in German. The decimal separator is the active language's. With
    ``decimals`` (the meter's) at least that many places, else as many as the value needs;
    a place the value has is never cut off.
    """
    if value is None or value == "":
        return ""
    number = Decimal(value).normalize()
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if decimals not in (None, ""):
        places = max(places, int(decimals))
    return numberformat.format(
        number, get_format("DECIMAL_SEPARATOR"), decimal_pos=places, grouping=0
    )
