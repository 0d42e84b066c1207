"""A bare Flask app on the same gunicorn: the baseline for bench/pages.py (no database, no
extensions, one constant route). `/bench/bare/<n>` answers n constant bytes: the baseline for
an answer of that size (moving a megabyte costs the same with or without the app)."""

from flask import Flask

from bench._common import BARE_BODY

app = Flask(__name__)
_SIZED: dict[int, bytes] = {}


@app.get("/bench/bare")
def bare() -> str:
    return BARE_BODY


@app.get("/bench/bare/<int:size>")
def bare_sized(size: int):  # type: ignore[no-untyped-def]
    body = _SIZED.get(size)
    if body is None:
        body = _SIZED.setdefault(size, b"x" * min(size, 16 * 1024 * 1024))
    return app.response_class(body, mimetype="application/json")
