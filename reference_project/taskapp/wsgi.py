"""The WSGI entry point that server.py serves: `taskapp.wsgi:app`."""

from taskapp import create_app
from taskapp.observability import configure_logging

configure_logging()
app = create_app()
