"""Request guards applied to every request before any view runs: characters no database can
store (NUL, lone UTF-16 surrogates), JSON bodies too large or too deep to parse safely, and
Cache-Control for anything personal."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, current_app, g, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l

from booking.core.errors import BadRequest, DomainError
from booking.core.sessions import sessionless, signed_in

#: The bodies Werkzeug parses into request.form and request.files.
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
#: PostgreSQL refuses NUL in text, and no encoder can write a lone surrogate.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InvalidCharacter(BadRequest):
    code = "invalid_character"


class JsonTooDeep(BadRequest):
    code = "json_too_deep"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class SafeJSONProvider(DefaultJSONProvider):
    """json.loads, except that nesting too deep for the parser is a ValueError (a 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def has_unstorable(value: str) -> bool:
    """True when `value` holds a character the database cannot store."""
    return _UNSTORABLE.search(value) is not None


def _refuse(field: str) -> InvalidCharacter:
    return InvalidCharacter(_l(
        "'%(field)s' contains a character we cannot accept (an invisible control character). "
        "Please retype that text without it, or paste it as plain text, and send it again.",
        field=field[:80].encode("unicode_escape").decode("ascii")))


def json_depth(data: bytes | str) -> int:
    """The deepest nesting of arrays/objects in a JSON text, without parsing it (no recursion)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_json(value: Any, path: str = "") -> None:
    """Refuse an unstorable character in any key or string value (depth is already bounded)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if has_unstorable(item):
                raise _refuse(where or "body")
        elif isinstance(item, dict):
            for key, child in item.items():
                if has_unstorable(key):
                    raise _refuse(f"{where}.{key}" if where else key)
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))


def check_request() -> None:
    """Refuse what no view could store or parse safely, before any view (or CSRF check) runs."""
    # The request behind Flask's proxy, taken once: every access through the proxy costs
    # about as much as the check itself (~0.7 µs here, in every request).
    req = request._get_current_object()
    if has_unstorable(req.path):
        raise _refuse("address")
    sources = [req.args] if req.query_string else []
    # Werkzeug parses a form only from these two types: any other body has no form to check
    # (and asking for req.form would build an empty one for nothing). No Content-Type (a
    # GET): neither a form nor JSON, and nothing to parse.
    content_type = req.environ.get("CONTENT_TYPE")
    has_form = bool(content_type) and req.mimetype in _FORM_TYPES
    if has_form and not _larger_than_any_upload():
        sources.append(req.form)
    for source in sources:
        for key, values in source.lists():
            if has_unstorable(key):
                raise _refuse(key)
            for value in values:
                if has_unstorable(value):
                    raise _refuse(key)
    if has_form and not _larger_than_any_upload():
        for key, upload in req.files.items(multi=True):
            if has_unstorable(key) or has_unstorable(upload.filename or ""):
                raise _refuse(key)
    if content_type and req.is_json:
        _check_json_body()


def _larger_than_any_upload() -> bool:
    """A body past the largest file we keep is refused by its view from Content-Length alone,
    before a byte of it is read (so the patient gets the page back, not a broken connection):
    the guard must not read that body first. Nothing from it reaches the database."""
    limit = current_app.config.get("MEDICAL_MAX_BYTES")
    return bool(limit and request.content_length and request.content_length > limit)


def _check_json_body() -> None:
    cap = current_app.config["JSON_MAX_BYTES"]
    if request.content_length is not None and request.content_length > cap:
        raise PayloadTooLarge(_l("The JSON body is larger than %(max)s bytes.", max=cap))
    data = request.get_data(cache=True)
    if len(data) > cap:
        raise PayloadTooLarge(_l("The JSON body is larger than %(max)s bytes.", max=cap))
    if not data:
        return
    max_depth = current_app.config["JSON_MAX_DEPTH"]
    if json_depth(data) > max_depth:
        raise JsonTooDeep(_l("The JSON body is nested more than %(max)s levels deep.",
                             max=max_depth))
    body = request.get_json(silent=True)
    if body is not None:
        _check_json(body)


def no_store_when_personal(response):  # type: ignore[no-untyped-def]
    """Nothing shown to a signed-in person, and no API answer, may sit in a shared cache (the
    one rule for both: API answers are personal or change by the minute)."""
    req = request._get_current_object()  # (taken once, as in check_request)
    if req.endpoint == "static" or sessionless(req):
        return response  # a file or the probe: nothing personal, and no user to load
    if (req.path.startswith("/api/") or g.get("personal_page")
            or signed_in()):  # (a kept page: its user is not loaded)
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def register(app: Flask) -> None:
    """Install the guards on `app`."""
    app.config.setdefault("JSON_MAX_BYTES", 64 * 1024)
    app.config.setdefault("JSON_MAX_DEPTH", 32)
    app.json = SafeJSONProvider(app)
    # First of all before_request functions: before CSRF, the rate limiter and any view reads
    # a value that the database would then choke on.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
    app.after_request(no_store_when_personal)
