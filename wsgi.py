"""WSGI entry point: `gunicorn wsgi:app`."""

import gc

from booking import create_app

app = create_app()
# What the app built at start (its modules, routes, templates' code, mappers) lives as long as
# the worker: moved out of the collector's reach, so its full collections, which stop every
# request in the worker, walk only what requests made (Python's gc.freeze; ~225,000 objects).
gc.freeze()
