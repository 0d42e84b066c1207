"""In-memory Stripe objects (Checkout Sessions, PaymentIntents, charges, refunds), their rules, and
the event log with its delivery worker and expiry sweeper. Every mutation happens under `lock`;
events made under the lock wait in `outbox` until the caller takes them and sends them after
releasing it (a webhook handler may call the stand-in back)."""

from __future__ import annotations

import copy
import json
import queue
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import stripe

from . import wire
from .wire import ApiError

LOCALES = frozenset(
    "auto bg cs da de el en en-GB es es-419 et fi fil fr fr-CA hr hu id it ja ko lt lv ms mt nb nl "
    "pl pt pt-BR ro ru sk sl sv th tr vi zh zh-HK zh-TW".split()
)
REASONS = ("duplicate", "fraudulent", "requested_by_customer")
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
MAX_AMOUNT = 99_999_999
KINDS = {"cs": "sessions", "pi": "intents", "ch": "charges", "re": "refunds"}


def _required(params: dict[str, Any], key: str, param: str | None = None) -> Any:
    value = params.get(key) if isinstance(params, dict) else None
    if value in (None, "", {}, []):
        name = param or key
        raise ApiError(f"Missing required param: {name}.", param=name, code="parameter_missing")
    return value


def _url(params: dict[str, Any], key: str) -> str:
    value = str(_required(params, key))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError("Not a valid URL", param=key, code="url_invalid")
    return value


class State:
    def __init__(self, webhook_url: str | None, webhook_secret: str | None,
                 base_url: str | None) -> None:
        self.lock = threading.Lock()
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.base_url = base_url
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.store: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS.values()}
            self.private: dict[str, dict[str, Any]] = {}
            self.event_log: list[dict[str, Any]] = []
            self.request_log: list[dict[str, Any]] = []
            self.idem: dict[str, dict[str, Any]] = {}
            self.outbox: list[dict[str, Any]] = []
            self.fail_next_refund = False
            self.offset = 0

    def now(self) -> int:
        return int(time.time()) + self.offset

    def lookup(self, ident: str) -> dict[str, Any] | None:
        kind = KINDS.get(ident.split("_", 1)[0])
        return self.store[kind].get(ident) if kind else None

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        for path in paths:
            head, _, rest = str(path).partition(".")
            target = self.lookup(obj[head]) if isinstance(obj.get(head), str) else None
            if target is not None:
                obj[head] = self.expand(target, [rest] if rest else [])
        return obj

    # Events -------------------------------------------------------------------------------------

    def emit(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": wire.new_id("evt"), "object": "event", "api_version": stripe.api_version,
                 "created": self.now(), "type": type_, "data": {"object": copy.deepcopy(obj)},
                 "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}}
        record = {"id": event["id"], "type": type_, "created": event["created"], "event": event,
                  "body": json.dumps(event, indent=2), "status": None, "error": None,
                  "attempts": 0, "deliveries": []}
        self.event_log.append(record)
        self.outbox.append(record)
        return record

    def take_outbox(self) -> list[dict[str, Any]]:
        out, self.outbox = self.outbox, []
        return out

    def send(self, records: list[dict[str, Any]], *, sync: bool = False) -> None:
        """Deliver now (sync) or in order on the delivery thread."""
        if sync:
            for record in records:
                self.deliver(record)
            return
        if not records:
            return
        self.start()
        with self._idle:
            self._pending += len(records)
        for record in records:
            self._queue.put(record)

    def deliver(self, record: dict[str, Any]) -> None:
        with self.lock:
            url, secret = self.webhook_url, self.webhook_secret
        if not url:
            return
        result = wire.deliver(url, secret, record["body"])
        with self.lock:
            record["deliveries"].append(result)
            record["attempts"] += 1
            record["status"], record["error"] = result["status"], result["error"]

    def flush(self, timeout: float = 15) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _deliver_loop(self) -> None:
        while (record := self._queue.get()) is not None:
            try:
                self.deliver(record)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _sweep_loop(self) -> None:
        while not self._closed.wait(0.5):
            with self.lock:
                for session in list(self.store["sessions"].values()):
                    self.maybe_expire(session)
                out = self.take_outbox()
            self.send(out)

    def start(self) -> None:
        with self._idle:
            if self._threads or self._closed.is_set():
                return
            for target in (self._deliver_loop, self._sweep_loop):
                thread = threading.Thread(target=target, name="stripe-standin", daemon=True)
                thread.start()
                self._threads.append(thread)

    def close(self) -> None:
        self._closed.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=15)

    # Checkout Sessions --------------------------------------------------------------------------

    def create_session(self, p: dict[str, Any], base_url: str) -> dict[str, Any]:
        created = self.now()
        mode = _required(p, "mode")
        if mode not in ("payment", "setup", "subscription"):
            raise ApiError("Invalid mode: must be one of payment, setup, or subscription",
                           param="mode")
        if mode != "payment":
            raise ApiError("This stand-in supports only mode=payment.", param="mode")
        items = _required(p, "line_items")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise ApiError("This stand-in supports exactly one line item.", param="line_items")
        item, pre = items[0], "line_items[0]"
        if "price" in item:
            raise ApiError("This stand-in supports only price_data, not price ids.",
                           param=f"{pre}[price]")
        data = _required(item, "price_data", f"{pre}[price_data]")
        pre += "[price_data]"
        currency = str(_required(data, "currency", f"{pre}[currency]")).lower()
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise ApiError(f"Invalid currency: {currency}.", param=f"{pre}[currency]",
                           code="invalid_currency")
        unit = wire.integer(_required(data, "unit_amount", f"{pre}[unit_amount]"),
                            f"{pre}[unit_amount]")
        name = _required(data.get("product_data") or {}, "name", f"{pre}[product_data][name]")
        quantity = wire.integer(item.get("quantity", 1), "line_items[0][quantity]")
        total = unit * quantity
        if total > MAX_AMOUNT:
            raise ApiError(f"Amount must be no more than {MAX_AMOUNT:,}.",
                           param=f"{pre}[unit_amount]", code="amount_too_large")
        success_url, cancel_url = _url(p, "success_url"), _url(p, "cancel_url")
        email = p.get("customer_email") or None
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            raise ApiError(f"Invalid email address: {email}", param="customer_email",
                           code="email_invalid")
        locale = p.get("locale") or None
        if locale is not None and locale not in LOCALES:
            raise ApiError(f"Invalid locale: must be one of {', '.join(sorted(LOCALES))}",
                           param="locale")
        expires_at = created + 86400
        if p.get("expires_at") not in (None, ""):
            expires_at = wire.integer(p["expires_at"], "expires_at", minimum=None)
            if not created + 1800 <= expires_at <= created + 86400:
                raise ApiError("The `expires_at` timestamp must be between 30 minutes and 24 "
                               "hours from Checkout Session creation.", param="expires_at")
        ref = p.get("client_reference_id") or None
        if ref is not None and len(str(ref)) > 200:
            raise ApiError("client_reference_id can be at most 200 characters.",
                           param="client_reference_id")
        meta = wire.metadata(p.get("metadata"))
        intent_data = p.get("payment_intent_data") or {}
        intent_meta = wire.metadata(intent_data.get("metadata") if isinstance(intent_data, dict)
                                    else None, "payment_intent_data[metadata]")
        sid = wire.new_id("cs")
        session = {
            "id": sid, "object": "checkout.session", "url": f"{base_url}/pay/{sid}",
            "status": "open", "payment_status": "unpaid", "amount_subtotal": total,
            "amount_total": total, "currency": currency, "created": created,
            "expires_at": expires_at, "client_reference_id": ref, "customer_email": email,
            "customer_details": None, "metadata": meta, "payment_intent": None, "mode": mode,
            "success_url": success_url, "cancel_url": cancel_url, "locale": locale,
            "livemode": False,
        }
        self.store["sessions"][sid] = session
        self.private[sid] = {"name": str(name), "intent_metadata": intent_meta}
        self.start()
        return session

    def session(self, sid: str) -> dict[str, Any]:
        session = self.store["sessions"].get(sid)
        if session is None:
            raise wire.missing("checkout.session", sid)
        self.maybe_expire(session)
        return session

    def maybe_expire(self, session: dict[str, Any]) -> None:
        if session["status"] == "open" and self.now() >= session["expires_at"]:
            self.expire(session)

    def expire(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["status"] != "open":
            raise ApiError('Only Checkout Sessions with a status in ["open"] can be expired.')
        session.update(status="expired", url=None)
        self.emit("checkout.session.expired", session)
        return session

    def pay(self, session: dict[str, Any], card: str, email: str | None = None,
            name: str | None = None) -> dict[str, Any]:
        if session["status"] != "open":
            raise ApiError(f"This Checkout Session is not open (status: {session['status']}).")
        digits = re.sub(r"[\s-]", "", card or "")
        if digits == DECLINED_CARD:
            raise ApiError("Your card was declined.", type="card_error", code="card_declined",
                           decline_code="generic_decline", status=402)
        if digits != GOOD_CARD:
            raise ApiError("Your card number is incorrect.", type="card_error",
                           code="incorrect_number", param="number", status=400)
        now, total, currency = self.now(), session["amount_total"], session["currency"]
        meta = dict(self.private[session["id"]]["intent_metadata"])
        pi_id, ch_id = wire.new_id("pi"), wire.new_id("ch")
        email = email or session["customer_email"]
        self.store["charges"][ch_id] = {
            "id": ch_id, "object": "charge", "amount": total, "amount_captured": total,
            "amount_refunded": 0, "captured": True, "created": now, "currency": currency,
            "livemode": False, "metadata": dict(meta), "paid": True, "payment_intent": pi_id,
            "refunded": False, "status": "succeeded",
            "billing_details": {"email": email, "name": name or None},
        }
        self.store["intents"][pi_id] = {
            "id": pi_id, "object": "payment_intent", "amount": total, "amount_received": total,
            "created": now, "currency": currency, "latest_charge": ch_id, "livemode": False,
            "metadata": meta, "status": "succeeded",
        }
        session.update(status="complete", payment_status="paid", payment_intent=pi_id, url=None,
                       customer_details={"email": email, "name": name or None})
        self.emit("checkout.session.completed", session)
        return session

    # Refunds ------------------------------------------------------------------------------------

    def get(self, kind: str, label: str, ident: str, param: str | None = None) -> dict[str, Any]:
        obj = self.store[kind].get(ident)
        if obj is None:
            raise wire.missing(label, ident, param)
        return obj

    def create_refund(self, p: dict[str, Any]) -> dict[str, Any]:
        pi_id, ch_id = p.get("payment_intent") or None, p.get("charge") or None
        if pi_id is None and ch_id is None:
            raise ApiError("One of the following params should be provided for this request: "
                           "payment_intent or charge.", param="payment_intent",
                           code="parameter_missing")
        if pi_id is not None:
            intent = self.get("intents", "payment_intent", pi_id, "payment_intent")
            if intent["status"] != "succeeded" or not intent["latest_charge"]:
                raise ApiError("This PaymentIntent does not have a successful charge to refund.",
                               param="payment_intent")
            if ch_id is not None and ch_id != intent["latest_charge"]:
                raise ApiError(f"Charge {ch_id} does not belong to PaymentIntent {pi_id}.",
                               param="charge")
            ch_id = intent["latest_charge"]
        charge = self.get("charges", "charge", ch_id, "charge")
        reason = p.get("reason") or None
        if reason is not None and reason not in REASONS:
            raise ApiError("Invalid reason: must be one of duplicate, fraudulent, or "
                           "requested_by_customer", param="reason")
        meta = wire.metadata(p.get("metadata"))
        remaining = charge["amount"] - charge["amount_refunded"]
        if charge["refunded"] or remaining <= 0:
            raise ApiError(f"Charge {ch_id} has already been refunded.",
                           code="charge_already_refunded")
        amount = remaining
        if p.get("amount") not in (None, ""):
            amount = wire.integer(p["amount"], "amount")
        if amount > remaining:
            cur = charge["currency"]
            raise ApiError(f"Refund amount ({wire.format_amount(amount, cur)}) is greater than "
                           f"unrefunded amount on charge ({wire.format_amount(remaining, cur)})",
                           param="amount", code="amount_too_large")
        refund = {"id": wire.new_id("re"), "object": "refund", "amount": amount,
                  "currency": charge["currency"], "payment_intent": charge["payment_intent"],
                  "charge": ch_id, "status": "succeeded", "reason": reason, "metadata": meta,
                  "created": self.now()}
        self.store["refunds"][refund["id"]] = refund
        if self.fail_next_refund:
            self.fail_next_refund = False
            refund["status"] = "pending"
            answer = copy.deepcopy(refund)
            self.emit("refund.created", refund)
            refund.update(status="failed", failure_reason="expired_or_canceled_card")
            self.emit("refund.updated", refund)
            return answer
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.emit("refund.created", refund)
        self.emit("charge.refunded", charge)
        return refund
