"""A local Stripe stand-in: a real HTTP server on 127.0.0.1 that the `stripe` package talks to.

    standin = serve(webhook_url="http://127.0.0.1:5000/stripe/webhook", webhook_secret="whsec_…")
    client = stripe.StripeClient("sk_test_…", base_addresses={"api": standin.url})

It speaks Stripe's wire format (form-encoded bracket keys in, JSON out, Bearer keys, Stripe's error
shape, Idempotency-Key replay) for Checkout Sessions, PaymentIntents, charges and refunds, serves a
hosted checkout page at /pay/<id>, and sends signed webhook events. Test controls live under
/_standin/ and on the StandIn object."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, redirect, request
from werkzeug.serving import make_server

from . import pages, wire
from .state import GOOD_CARD, State
from .wire import ApiError

_KEEP: Any = object()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body)
    resp = Response(text, status=status, mimetype="application/json", headers=headers or {})
    resp.headers["Request-Id"] = "req_" + secrets.token_hex(12)
    return resp


def _api_key_error() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token).decode().partition(":")[0]
        except ValueError:
            token = ""
    elif scheme.lower() != "bearer":
        token = ""
    if not token:
        message = ("You did not provide an API key. You need to provide your API key in the "
                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                   "YOUR_SECRET_KEY').")
    elif not re.fullmatch(r"(sk|rk)_test_\w+", token):
        masked = token[:8] + "*" * max(len(token) - 12, 0) + token[-4:]
        message = f"Invalid API Key provided: {masked} (this stand-in takes test keys only)"
    else:
        return None
    return _json({"error": {"type": "invalid_request_error", "message": message, "param": None,
                            "code": None}}, 401)


def _control_params() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else request.form.to_dict()


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "body"}


def create_app(*, webhook_url: str | None = None, webhook_secret: str | None = None,
               base_url: str | None = None) -> Flask:
    """The stand-in as a Flask app; its State is app.extensions["stripe_standin"]."""
    app = Flask(__name__)
    st = State(webhook_url, webhook_secret, base_url.rstrip("/") if base_url else None)
    app.extensions["stripe_standin"] = st

    def base() -> str:
        return st.base_url or request.host_url.rstrip("/")

    def api(fn: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
        """Key check, bracket parsing, request log, Idempotency-Key replay, expand, errors."""

        @wraps(fn)
        def view(**kwargs: Any) -> Response:
            if (denied := _api_key_error()) is not None:
                return denied
            post = request.method == "POST"
            pairs = list((request.form if post else request.args).items(multi=True))
            params = wire.parse_params(pairs)
            key = request.headers.get("Idempotency-Key") if post else None
            fingerprint = [request.method, request.path, sorted(pairs)]
            replayed = False
            with st.lock:
                st.request_log.append({"method": request.method, "path": request.path,
                                       "params": dict(pairs), "idempotency_key": key})
                seen = st.idem.get(key) if key else None
                if seen is not None and seen["fingerprint"] != fingerprint:
                    status, text = 400, json.dumps(ApiError(
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        type="idempotency_error").body)
                elif seen is not None:
                    status, text, replayed = seen["status"], seen["text"], True
                else:
                    try:
                        obj = fn(params, **kwargs)
                        expand = params.get("expand") or []
                        if isinstance(expand, list) and expand:
                            obj = st.expand(obj, expand)
                        status, text = 200, json.dumps(obj)
                    except ApiError as exc:
                        status, text = exc.status, json.dumps(exc.body)
                    if key and (status < 400 or status == 402):
                        st.idem[key] = {"fingerprint": fingerprint, "status": status,
                                        "text": text}
                out = st.take_outbox()
            st.send(out)
            return _json(text, status, {"Idempotent-Replayed": "true"} if replayed else None)

        return view

    @app.post("/v1/checkout/sessions")
    @api
    def create_session(p: dict[str, Any]) -> dict[str, Any]:
        return st.create_session(p, base())

    @app.get("/v1/checkout/sessions/<sid>")
    @api
    def get_session(p: dict[str, Any], sid: str) -> dict[str, Any]:
        return st.session(sid)

    @app.post("/v1/checkout/sessions/<sid>/expire")
    @api
    def expire_session(p: dict[str, Any], sid: str) -> dict[str, Any]:
        return st.expire(st.session(sid))

    @app.get("/v1/payment_intents/<ident>")
    @api
    def get_intent(p: dict[str, Any], ident: str) -> dict[str, Any]:
        return st.get("intents", "payment_intent", ident)

    @app.get("/v1/charges/<ident>")
    @api
    def get_charge(p: dict[str, Any], ident: str) -> dict[str, Any]:
        return st.get("charges", "charge", ident)

    @app.post("/v1/refunds")
    @api
    def create_refund(p: dict[str, Any]) -> dict[str, Any]:
        return st.create_refund(p)

    @app.get("/v1/refunds/<ident>")
    @api
    def get_refund(p: dict[str, Any], ident: str) -> dict[str, Any]:
        return st.get("refunds", "refund", ident)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def unknown(exc: Exception) -> Response | tuple[str, int]:
        if request.path.startswith("/v1/"):
            return _json(ApiError(f"Unrecognized request URL ({request.method}: {request.path})."
                                  , status=404).body, 404)
        return "Not found (local Stripe stand-in)", 404

    # Hosted checkout page -----------------------------------------------------------------------

    @app.route("/pay/<sid>", methods=["GET", "POST"])
    def hosted(sid: str) -> Any:
        paid, error, status = False, None, 200
        with st.lock:
            session = st.store["sessions"].get(sid)
            if session is None:
                return pages.MISSING, 404
            st.maybe_expire(session)
            form = request.form
            email = form.get("email", session["customer_email"] or "").strip()
            name = form.get("billingName", "").strip()
            if request.method == "POST" and session["status"] == "open":
                try:
                    if not email:
                        raise ApiError("Your email is incomplete.")
                    st.pay(session, form.get("cardNumber", ""), email, name)
                    paid = True
                except ApiError as exc:
                    error, status = exc.body["error"]["message"], exc.status
            success = session["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
            state = session["status"]
            if state == "expired":
                status = 410
            total = wire.format_amount(session["amount_total"], session["currency"])
            context = {"state": state, "name": st.private[sid]["name"], "amount": total,
                       "email": email, "card": form.get("cardNumber", ""),
                       "expiry": form.get("cardExpiry", ""), "billing_name": name,
                       "error": error, "cancel_url": session["cancel_url"],
                       "success_url": success}
            out = st.take_outbox()
        st.send(out, sync=paid)
        if paid:
            return redirect(success, 303)
        return pages.render_page(context), status

    # Test controls (no key) ---------------------------------------------------------------------

    @app.post("/_standin/checkout/sessions/<sid>/pay")
    def control_pay(sid: str) -> Response:
        p = _control_params()
        deliver = str(p.get("deliver", "1")).lower() not in ("0", "false", "no")
        with st.lock:
            try:
                session = st.pay(st.session(sid), str(p.get("card") or GOOD_CARD),
                                 p.get("email"), p.get("name"))
                status, body = 200, session
            except ApiError as exc:
                status, body = exc.status, exc.body
            out = st.take_outbox()
            paid_events = [r for r in out if r["type"] == "checkout.session.completed"]
        st.send([r for r in out if r not in paid_events])
        if deliver:
            st.send(paid_events, sync=True)
        with st.lock:
            return _json(body, status)

    @app.get("/_standin/events")
    def control_events() -> Response:
        with st.lock:
            return _json([_public(r) for r in st.event_log])

    @app.post("/_standin/events/<eid>/resend")
    def control_resend(eid: str) -> Response:
        with st.lock:
            record = next((r for r in st.event_log if r["id"] == eid), None)
        if record is None:
            return _json(wire.missing("event", eid).body, 404)
        st.deliver(record)
        with st.lock:
            return _json(_public(record))

    @app.get("/_standin/requests")
    def control_requests() -> Response:
        with st.lock:
            return _json(st.request_log)

    @app.post("/_standin/reset")
    def control_reset() -> Response:
        st.reset()
        return _json({"reset": True})

    @app.post("/_standin/config")
    def control_config() -> Response:
        p = _control_params()
        with st.lock:
            if "webhook_url" in p:
                st.webhook_url = p["webhook_url"] or None
            if "webhook_secret" in p:
                st.webhook_secret = p["webhook_secret"] or None
            return _json({"webhook_url": st.webhook_url,
                          "webhook_secret_set": bool(st.webhook_secret)})

    @app.post("/_standin/refunds/fail_next")
    def control_fail_next() -> Response:
        with st.lock:
            st.fail_next_refund = True
        return _json({"fail_next_refund": True})

    @app.post("/_standin/clock")
    def control_clock() -> Response:
        advance = int(_control_params().get("advance", 0))
        with st.lock:
            st.offset += advance
            return _json({"now": st.now(), "offset": st.offset})

    return app


class StandIn:
    """A running stand-in (see serve()): .url, .app, test helpers, .stop()."""

    def __init__(self, app: Flask, server: Any, thread: threading.Thread) -> None:
        self.app, self._server, self._thread = app, server, thread
        self.state: State = app.extensions["stripe_standin"]
        self.url = f"http://127.0.0.1:{server.server_port}"

    def configure(self, *, webhook_url: str | None = _KEEP,
                  webhook_secret: str | None = _KEEP) -> None:
        with self.state.lock:
            if webhook_url is not _KEEP:
                self.state.webhook_url = webhook_url
            if webhook_secret is not _KEEP:
                self.state.webhook_secret = webhook_secret

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """Events so far: id, type, created, event (the body), status (webhook's HTTP status or
        None), error (why delivery failed), attempts, deliveries."""
        with self.state.lock:
            return [_public(r) for r in self.state.event_log if type in (None, r["type"])]

    def requests(self) -> list[dict[str, Any]]:
        """API requests so far: method, path, params (flat bracket keys), idempotency_key."""
        with self.state.lock:
            return [dict(r) for r in self.state.request_log]

    def flush(self, timeout: float = 15) -> bool:
        """Wait until queued (asynchronous) webhook deliveries are done."""
        return self.state.flush(timeout)

    def advance_clock(self, seconds: int) -> int:
        """Move the stand-in's clock (sessions' expiry) forward; answers its new now."""
        with self.state.lock:
            self.state.offset += seconds
            return self.state.now()

    def fail_next_refund(self) -> None:
        with self.state.lock:
            self.state.fail_next_refund = True

    def reset(self) -> None:
        self.state.reset()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=15)
        self.state.close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(*, port: int = 0, webhook_url: str | None = None,
          webhook_secret: str | None = None) -> StandIn:
    """Start the stand-in on 127.0.0.1:port (0 = any free port) in a background thread."""
    app = create_app(webhook_url=webhook_url, webhook_secret=webhook_secret)
    server = make_server("127.0.0.1", port, app, threaded=True)
    app.extensions["stripe_standin"].base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="stripe-standin-http", daemon=True)
    thread.start()
    return StandIn(app, server, thread)
