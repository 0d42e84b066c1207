"""Stripe's wire format: bracket-keyed form parameters, error bodies, amounts, ids, and signed
webhook delivery (urllib, no proxies, never raising)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any

ZERO_DECIMAL = frozenset(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split()
)
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class ApiError(Exception):
    """An answer in Stripe's error shape: {"error": {type, message, param, code}}."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 status: int = 400, type: str = "invalid_request_error", **extra: Any):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "message": message, "param": param, "code": code,
                               **extra}}


def missing(kind: str, ident: str, param: str | None = None) -> ApiError:
    return ApiError(f"No such {kind}: '{ident}'", param=param, code="resource_missing",
                    status=404)


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def parse_params(items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`a[b][0][c]=x` pairs into nested dicts; dicts whose keys are all indexes become lists."""
    root: dict[str, Any] = {}
    for key, value in items:
        m = _KEY.match(key)
        parts = [key] if not m else [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # a[] appends
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v) for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def integer(value: Any, param: str, *, minimum: int | None = 1) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ApiError(f"Invalid integer: {value}", param=param,
                       code="parameter_invalid_integer") from None
    if minimum is not None and number < minimum:
        word = "positive" if minimum == 1 else f"at least {minimum}"
        raise ApiError(f"This value must be {word} ({param}).", param=param,
                       code="parameter_invalid_integer")
    return number


def metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ApiError(f"Invalid object ({param}).", param=param)
    if len(value) > 50:
        raise ApiError("Invalid metadata: metadata can have up to 50 keys.", param=param)
    for key, item in value.items():
        if len(key) > 40 or not isinstance(item, str) or len(item) > 500:
            raise ApiError(f"Invalid metadata: keys can be up to 40 characters and values up to "
                           f"500 characters ({param}[{key}]).", param=f"{param}[{key}]")
    return {k: v for k, v in value.items() if v != ""}


def format_amount(amount: int, currency: str) -> str:
    """Minor units for display: 150000 thb -> 'THB 1,500.00', 1500 jpy -> 'JPY 1,500'."""
    if currency.lower() in ZERO_DECIMAL:
        return f"{currency.upper()} {amount:,}"
    return f"{currency.upper()} {amount // 100:,}.{amount % 100:02d}"


def signature(body: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def deliver(url: str, secret: str | None, body: str, timeout: float = 10) -> dict[str, Any]:
    """POST one signed event; answers {"status": code or None, "error": text or None, "at": t}."""
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": signature(body, secret or ""),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    })
    result: dict[str, Any] = {"status": None, "error": None, "at": int(time.time())}
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            result["status"] = resp.status
    except urllib.error.HTTPError as exc:
        result["status"] = exc.code
        exc.close()
    except Exception as exc:  # noqa: BLE001 - a dead webhook must never break the stand-in
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result
