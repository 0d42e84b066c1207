"""One error shape for the whole API, whoever raised it (webargs, a service, werkzeug):
{"error": {"code", "message", "fields"?}}. Messages never repeat more than a short piece of
what was sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask_smorest
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from booking.api.schemas import ErrorSchema
from booking.core.errors import BadRequest, DomainError, Unprocessable

#: Longest piece of a client's input (a field name) an error message may repeat.
MAX_ECHO = 64
#: At most this many fields are named in one answer.
MAX_FIELDS = 20


def cut(text: object, limit: int = MAX_ECHO) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class FieldError(Unprocessable):
    """A 422 about named fields, raised by a view after the schema had its say."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(_summary(fields))
        self.fields = fields


def invalid(field: str, message: object) -> FieldError:
    return FieldError({field: [str(message)]})


def _flatten(messages: Any, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """marshmallow's nested messages as (dotted path, [message, …])."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = cut(key) if key != "_schema" else ""
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            yield from _flatten(value, path)
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        yield prefix or "_body", [cut(m, 300) for m in messages]
    elif isinstance(messages, list | tuple):
        for item in messages:
            yield from _flatten(item, prefix)
    else:
        yield prefix or "_body", [cut(messages, 300)]


def validation_fields(messages: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, texts in _flatten(messages):
        if path not in out and len(out) >= MAX_FIELDS:
            break
        out.setdefault(path, []).extend(texts)
    return out


def _summary(fields: dict[str, list[str]]) -> str:
    return " ".join(f"'{name}': {' '.join(texts)}" if name != "_body" else " ".join(texts)
                    for name, texts in fields.items())


def error_body(code: str, message: object, fields: dict[str, list[str]] | None = None) -> dict:
    detail: dict[str, object] = {"code": code, "message": str(message)}
    if fields:
        detail["fields"] = fields
    return {"error": detail}


class JsonObjectParser(FlaskParser):
    """A body is a JSON object (or nothing, for routes whose fields are all optional); anything
    else is a 400 in our shape rather than webargs' "Invalid input type".

    A query string asked again is not parsed again where its schema says its result depends
    on the text alone (`QUERY_TEXT_ONLY`: no clock, user or language in any field): webargs
    and marshmallow took ~45 µs of a ~260 µs availability answer, the same for every client
    polling the same days. Only successful parses are kept (an error is worked out, and
    worded in the asker's language, each time), up to `KEPT_PARSES` of queries up to
    `KEPT_QUERY` bytes (a longer one, padded with unknown fields, is parsed each time); each
    caller gets its own copy of the arguments."""

    KEPT_PARSES = 4096
    KEPT_QUERY = 512

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsed: dict[tuple[object, bytes], dict] = {}

    def parse(self, argmap, req=None, *, location=None, **kwargs):  # type: ignore[no-untyped-def, override]
        if req is None:
            req = self.get_default_request()
        if location != "query" or kwargs.get("validate") is not None \
                or not getattr(argmap, "QUERY_TEXT_ONLY", False) \
                or len(req.query_string) > self.KEPT_QUERY:
            return super().parse(argmap, req, location=location, **kwargs)
        key = (argmap, req.query_string)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = super().parse(argmap, req, location=location, **kwargs)
            if len(self._parsed) >= self.KEPT_PARSES:
                self._parsed.clear()
            self._parsed[key] = parsed
        return dict(parsed)

    def load_json(self, req, schema):  # type: ignore[no-untyped-def]
        # A form body has already been parsed (by the guards), so its raw bytes may be gone:
        # judge a non-JSON body by its length and content type, not by what is left of it.
        if not req.is_json and (req.content_length or req.form or req.files):
            raise BadRequest(_l("Send a JSON object with Content-Type: application/json."))
        raw = req.get_data(cache=True)
        if not raw:
            return {}
        if not req.is_json:
            raise BadRequest(_l("Send a JSON object with Content-Type: application/json."))
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest(_l("The body is not valid JSON.")) from None
        if not isinstance(data, dict):
            raise BadRequest(_l("Send a JSON object with Content-Type: application/json."))
        return data


def handle_domain_error(error: DomainError):  # type: ignore[no-untyped-def]
    fields = getattr(error, "fields", None)
    return jsonify(error_body(error.code, error.message, fields)), error.status


def handle_http_exception(error: HTTPException):  # type: ignore[no-untyped-def]
    """werkzeug's and webargs' errors (422 with the fields named) in our shape."""
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    data = getattr(error, "data", None) or {}
    headers.update(data.get("headers") or {})
    if isinstance(error, CSRFError):
        return jsonify(error_body("csrf_failed", _(
            "Send the X-CSRFToken header with writes made from a signed-in browser, or "
            "use a bearer token."))), 400, headers
    if "messages" in data:
        # webargs: {"json" | "query": {field: [message, …]}}
        merged: dict[str, Any] = {}
        for location_messages in data["messages"].values():
            if isinstance(location_messages, dict):
                merged.update(location_messages)
            else:
                merged.setdefault("_schema", []).extend(location_messages)
        fields = validation_fields(merged)
        code = "invalid_field" if status == 422 else "invalid_request"
        return jsonify(error_body(code, _summary(fields), fields)), status, headers
    code = (error.name or "error").lower().replace(" ", "_")
    message = error.description if status < 500 and error.description else error.name
    return jsonify(error_body(code, message)), status, headers


class Blueprint(flask_smorest.Blueprint):
    """An API blueprint: JSON-object bodies, and every error raised in its views answered in
    our shape (set up once here, as a blueprint may be registered on several apps)."""

    ARGUMENTS_PARSER = JsonObjectParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_error_handler(DomainError, handle_domain_error)
        self.register_error_handler(HTTPException, handle_http_exception)


class Api(flask_smorest.Api):
    """flask-smorest's Api answering errors in our shape, on the API's own paths only (the
    rest of the site keeps its error pages)."""

    ERROR_SCHEMA = ErrorSchema
    #: Every status a route can answer is listed on it; no catch-all "default".
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        # Routing errors (no rule, wrong method) belong to no blueprint: catch them by code
        # and hand the ones outside the API back to the site's handler.
        for status in (404, 405):
            self._app.register_error_handler(status, self._routing_error)

    def _routing_error(self, error: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/"):
            return self.handle_http_exception(error)
        site = current_app.error_handler_spec[None][None].get(HTTPException)
        return site(error) if site is not None else error

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return handle_http_exception(error)
