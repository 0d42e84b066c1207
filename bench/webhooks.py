"""Benchmark: Stripe webhooks handled per second on PostgreSQL, duplicates mixed in, against a
bare route on the same gunicorn in the same run.

1. Rebuilds the benchmark database's schema, loads the demo data and adds N held bookings, each
   with an open Checkout Session (`cs_bench_<n>`), for one doctor and one patient back to back.
2. Signs one `checkout.session.completed` (paid) event per booking, and interleaves repeats:
   every DUPLICATE_EVERY-th request re-sends an event already sent (Stripe delivers at least
   once). wrk's Lua script posts them in that order, each thread its own share.
3. Serves the app with gunicorn (`-w 2`, sync) on 127.0.0.1: first `wrk` on a bare POST route
   with the same body size (the baseline), then on `POST /stripe/webhook`.
4. Checks the result in the database: every event applied once (one charge and one
   confirmation per booking, whatever the repeats), and prints req/s, p50/p99 and the share.

    .venv/bin/python bench/webhooks.py      (PostgreSQL database `bench`, `wrk` on the PATH)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench._common import (  # noqa: E402
    STARTED,
    BenchError,
    bench_config,
    database_url,
    ensure_database,
    log,
    reset_schema,
)
from bench.availability import free_port, parse_wrk, stop, wait_until_up  # noqa: E402
from bench.wsgi_webhooks import SECRET  # noqa: E402
from booking import create_app  # noqa: E402
from booking.accounts.models import User  # noqa: E402
from booking.catalogue.models import ConsultationType, Doctor  # noqa: E402
from booking.catalogue.seed import seed_demo  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.payments.models import CheckoutAttempt, LedgerEntry, StripeEvent  # noqa: E402
from booking.scheduling.models import Booking, BookingEvent  # noqa: E402

BOOKINGS = int(os.environ.get("BENCH_WEBHOOK_BOOKINGS", "8000"))
DUPLICATE_EVERY = 4  # one request in four repeats an event already sent
WRK_ARGS = ["-t2", "-c16", "-d8s", "--latency"]
WORKERS = 2

LUA = """
local bodies, sigs = {}, {}
for line in io.lines(os.getenv("BENCH_EVENTS")) do
  local sig, body = line:match("^([^\\t]+)\\t(.*)$")
  sigs[#sigs + 1] = sig; bodies[#bodies + 1] = body
end
local counter, threads = 0, 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) counter = tonumber(wrk.thread:get("id")) or 0; step = 2 end
request = function()
  local k = counter % #bodies + 1
  counter = counter + step
  return wrk.format("POST", wrk.path, {["Content-Type"] = "application/json",
                    ["Stripe-Signature"] = sigs[k]}, bodies[k])
end
"""


def seed(app) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """N held bookings with an open session each; (booking id, session id)."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        ctype = db.session.scalar(select(ConsultationType).where(ConsultationType.mode == "video"))
        doctor = db.session.scalar(select(Doctor).where(Doctor.clinic_id == ctype.clinic_id))
        patient = db.session.scalar(select(User).where(User.email == "patient@example.com"))
        now = datetime.now(UTC)
        first = (now + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
        rows = []
        for n in range(BOOKINGS):
            starts = first + timedelta(minutes=40 * n)
            rows.append({
                "reference": f"WB{n:08d}", "patient_id": patient.id,
                "clinic_id": ctype.clinic_id, "doctor_id": doctor.id,
                "consultation_type_id": ctype.id, "state": "held", "starts_at": starts,
                "ends_at": starts + timedelta(minutes=30), "blocked_from": starts,
                "blocked_until": starts + timedelta(minutes=40),
                "hold_expires_at": now + timedelta(hours=2), "patient_timezone": "UTC",
                "deposit_minor": 1_500_00, "currency": "THB", "created_by_id": patient.id,
                "cancel_reason": "", "created_at": now, "updated_at": now,
                "screening_id": None})
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.commit()
        ids = dict(db.session.execute(select(Booking.reference, Booking.id)).all())
        attempts = [{"booking_id": ids[f"WB{n:08d}"], "attempt": 1,
                     "session_id": f"cs_bench_{n}", "url": "", "state": "open",
                     "amount_minor": 1_500_00, "currency": "THB",
                     "base_amount_minor": 1_500_00, "base_currency": "THB", "rate": "1",
                     "expires_at": now + timedelta(hours=2), "created_at": now,
                     "updated_at": now} for n in range(BOOKINGS)]
        db.session.execute(CheckoutAttempt.__table__.insert(), attempts)
        db.session.commit()
        result = [(ids[f"WB{n:08d}"], f"cs_bench_{n}") for n in range(BOOKINGS)]
        db.session.remove()
    return result


def signed_lines(sessions: list[tuple[int, str]]) -> tuple[list[str], int]:
    """One signed event per booking, a repeat every DUPLICATE_EVERY-th line; the lines and how
    many of them are repeats."""
    stamp = int(clock.time())
    lines, repeats = [], 0
    for n, (booking_id, session_id) in enumerate(sessions):
        event = {"id": f"evt_bench_{n}", "object": "event", "type": "checkout.session.completed",
                 "created": stamp, "livemode": False, "data": {"object": {
                     "id": session_id, "object": "checkout.session", "status": "complete",
                     "payment_status": "paid", "amount_total": 1_500_00, "currency": "thb",
                     "payment_intent": f"pi_bench_{n}",
                     "metadata": {"booking_id": str(booking_id)}}}}
        body = json.dumps(event)
        mac = hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
        lines.append(f"t={stamp},v1={mac}\t{body}")
        if n % (DUPLICATE_EVERY - 1) == DUPLICATE_EVERY - 2 and n > 10:
            lines.append(lines[-10])  # an event already sent, again
            repeats += 1
    return lines, repeats


def run_wrk(url: str, script: str, events: str, label: str) -> dict:
    env = {**os.environ, "BENCH_EVENTS": events}
    done = subprocess.run(["wrk", *WRK_ARGS, "-s", script, url], check=True, env=env,
                          capture_output=True, text=True, timeout=120)
    result = parse_wrk(done.stdout)
    if result["non_2xx"]:
        raise BenchError(f"{label}: {result['non_2xx']} of {result['requests']} not 2xx")
    log(f"{label}: {result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, p99 "
        f"{result['p99']:.1f} ms, {result['requests']} requests")
    return result


def check(app, sent: int) -> dict:  # type: ignore[no-untyped-def]
    """What the database says after the load: each event once."""
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(StripeEvent))
        charges = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        confirmed = db.session.scalar(select(func.count()).select_from(Booking).where(
            Booking.state == "confirmed"))
        twice = db.session.scalar(select(func.count()).select_from(
            select(BookingEvent.booking_id).where(BookingEvent.to_state == "confirmed")
            .group_by(BookingEvent.booking_id).having(func.count() > 1).subquery()))
        db.session.remove()
    if not (events == charges == confirmed) or twice:
        raise BenchError(f"events {events}, charges {charges}, confirmed {confirmed}, "
                         f"confirmed twice {twice}: an event was applied more than once")
    return {"unique": events, "duplicates": sent - events}


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench/webhooks.py needs wrk on the PATH (apt-get install -y wrk)", file=sys.stderr)
        return 2
    url = database_url()
    ensure_database(url)
    app = create_app(bench_config())
    reset_schema(app)
    sessions = seed(app)
    log(f"seeded {len(sessions)} held bookings with open sessions")
    lines, repeats = signed_lines(sessions)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        events, script = Path(tmp, "events.tsv"), Path(tmp, "post.lua")
        events.write_text("\n".join(lines) + "\n")
        script.write_text(LUA)
        bare_lines = Path(tmp, "bare.tsv")
        bare_lines.write_text("\n".join(lines[:200]) + "\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": url}
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        with open(Path(tmp, "gunicorn.log"), "w+") as logfile:
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("gunicorn")), "--chdir", str(ROOT),
                 "--workers", str(WORKERS), "--worker-class", "sync",
                 "--bind", f"127.0.0.1:{port}", "bench.wsgi_webhooks:app"],
                env=env, stdout=logfile, stderr=subprocess.STDOUT, cwd=ROOT)
            try:
                wait_until_up(server, base)
                bare = run_wrk(f"{base}/bench/bare", str(script), str(bare_lines), "bare POST")
                hooks = run_wrk(f"{base}/stripe/webhook", str(script), str(events), "webhooks")
                # The same deliveries again: now every one is a repeat (Stripe's retries).
                seen = Path(tmp, "seen.tsv")
                seen.write_text("\n".join(lines[:hooks["requests"]]) + "\n")
                repeats_only = run_wrk(f"{base}/stripe/webhook", str(script), str(seen),
                                       "repeats only")
            finally:
                stop(server)
                logfile.seek(0)
                tail = logfile.read()[-2000:]
    if hooks["requests"] > len(lines):
        log(f"note: wrk sent {hooks['requests']} requests for {len(lines)} lines; the rest "
            "repeated earlier events (raise BENCH_WEBHOOK_BOOKINGS)")
    counted = check(app, hooks["requests"] + repeats_only["requests"])
    counted["duplicates"] -= repeats_only["requests"]
    share = hooks["rps"] / bare["rps"]
    print()
    print(f"webhooks: {hooks['rps']:.0f} req/s (p50 {hooks['p50']:.1f} ms, p99 "
          f"{hooks['p99']:.1f} ms); {counted['unique']} events applied once, "
          f"{counted['duplicates']} repeats answered as duplicates "
          f"({counted['duplicates'] / max(hooks['requests'], 1):.0%} of requests)")
    print(f"repeats only: {repeats_only['rps']:.0f} req/s (p99 {repeats_only['p99']:.1f} ms), "
          f"{repeats_only['rps'] / bare['rps']:.1%} of the bare route; state unchanged")
    print(f"bare POST: {bare['rps']:.0f} req/s (p99 {bare['p99']:.1f} ms)")
    print(f"webhooks' share of the bare route: {share:.1%}")
    print(f"wrk {' '.join(WRK_ARGS)} against gunicorn -w {WORKERS}, PostgreSQL; "
          f"total {clock.monotonic() - STARTED:.0f} s")
    if "Traceback" in tail:
        print(f"--- gunicorn log (tail) ---\n{tail}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
