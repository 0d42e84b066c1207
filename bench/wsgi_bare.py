"""A bare Flask app on the same gunicorn: the baseline for bench/pages.py (no database, no
extensions, one constant route)."""

from flask import Flask

from bench._common import BARE_BODY

app = Flask(__name__)


@app.get("/bench/bare")
def bare() -> str:
    return BARE_BODY
