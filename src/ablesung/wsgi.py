"""WSGI application for ``ablesung serve`` (granian) and any other WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ablesung.settings")

application = get_wsgi_application()
