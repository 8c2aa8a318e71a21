"""Rendering: HTML escapes, plain text and subject do not; the subject is one line."""

from typing import Any

import pytest
from django.db import transaction
from django.template import TemplateDoesNotExist

from ablesung.mail.services import queue_mail, render_mail
from tests.mail.conftest import SmtpServer

NAME = "<script>alert('x')</script> & Söhne"


@pytest.mark.usefixtures("smtp_down")
def test_html_escapes_the_name_and_plain_text_keeps_it_as_typed() -> None:
    subject, text, html = render_mail("mail_test/greeting", {"name": NAME, "number": "M<1>"})
    assert subject == f"Bestätigung für {NAME} – Zählerstand M<1>"
    assert "\n" not in subject
    assert f"Guten Tag {NAME}," in text
    assert "&lt;" not in text
    assert "&amp;" not in text
    assert "<script>" not in html
    assert "Guten Tag &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Söhne," in html
    assert "Zähler M&lt;1&gt; erhalten" in html
    # the shared layout: German, a heading, real text, inline styles, no images
    assert '<html lang="de">' in html
    assert "<h1 " in html
    assert "<img" not in html
    assert "Diese E-Mail wurde automatisch erstellt." in html


@pytest.mark.usefixtures("smtp_down")
def test_html_is_optional_and_a_missing_text_template_is_an_error() -> None:
    assert render_mail("mail_test/plain", {"name": "<b>Jörg</b>"}) == (
        "Nur Text",
        "Hallo <b>Jörg</b>\n",
        "",
    )
    with pytest.raises(TemplateDoesNotExist):
        render_mail("mail_test/missing", {})


@pytest.mark.django_db
def test_escaped_html_and_plain_text_arrive_as_rendered(
    smtp: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    subject, text, html = render_mail("mail_test/greeting", {"name": NAME, "number": "M1"})
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queue_mail(key="escaping", to="a@example.org", subject=subject, text=text, html=html)
    [message] = smtp.messages
    assert message["Subject"] == f"Bestätigung für {NAME} – Zählerstand M1"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert f"Guten Tag {NAME}," in plain.get_content()
    assert "<script>" not in rich.get_content()
    assert "&lt;script&gt;" in rich.get_content()
