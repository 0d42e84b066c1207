"""Benchmark: the travel pages against the bare route on the same app and gunicorn, in one run;
SQL per page as trips grow; the visa letter PDF cold and warm.

Seeds the benchmark database (PostgreSQL `bench`): the demo data, the bench clinic, and
TRIPS trips of its patients, each with a confirmed in-person booking, flights landing in the
next 7 days, a sealed passport, two companions, a partner hotel and a pickup to confirm; one
trip has an issued visa letter. Then serves `bench/wsgi_bench.py` (the app with its bare route
`/bench/bare`) with gunicorn `-w 2` on 127.0.0.1 and loads with `wrk -t2 -c32 -d6s`:

  bare route · trip page (patient) · itinerary .ics (patient) · travel desk (coordinator,
  a week of TRIPS arrivals) · desk CSV · letter verification page (anonymous)

and counts the SQL statements of the trip page and the desk at 20 and at TRIPS trips. Prints
req/s, p99, the ratio to the bare route, and the PDF's render time (first in a fresh process
with an empty font cache, then the mean of 5).

    .venv/bin/python bench/travel.py
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    BenchError,
    bench_config,
    database_url,
    ensure_database,
    log,
    reset_schema,
)
from bench.availability import free_port, seed_clinic, stop, wait_until_up  # noqa: E402
from bench.pages import PASSWORD, cookie_for, gunicorn, load, statements  # noqa: E402
from booking import create_app  # noqa: E402
from booking.accounts.models import User  # noqa: E402
from booking.catalogue.models import ConsultationType  # noqa: E402
from booking.core import crypto  # noqa: E402
from booking.core.zones import CLINIC_ZONE  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.payments.models import LedgerEntry  # noqa: E402
from booking.scheduling.models import Booking  # noqa: E402
from booking.travel.models import (  # noqa: E402
    Companion,
    Flight,
    PartnerHotel,
    Trip,
    TripBooking,
    VisaLetter,
)

TRIPS = 200
FEW = 20
#: Run in a fresh process (argv: the project root, the trip id): its first render builds the
#: fonts from nothing, as a new server does.
PDF_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench._common import bench_config
from booking import create_app
from booking.extensions import db
from booking.travel import letters
from booking.travel.models import VisaLetter
app = create_app(bench_config())
with app.app_context():
    letter = db.session.scalar(db.select(VisaLetter).where(
        VisaLetter.trip_id == int(sys.argv[2])))
    t = time.perf_counter()
    letters.render_pdf(letter)
    first = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(5):
        letters.render_pdf(letter)
    print(first, (time.perf_counter() - t) / 5)
"""


def seed(app) -> dict:  # type: ignore[no-untyped-def]
    seeded = seed_clinic(app)
    with app.app_context():
        clinic_id = seeded["clinic_id"]
        coordinator = User(email="coordinator@bench.example.com", name="Bench Coordinator",
                           role="coordinator", clinic_id=clinic_id, timezone="Asia/Bangkok",
                           email_verified_at=datetime.now(UTC))
        coordinator.set_password(PASSWORD)
        db.session.add(coordinator)
        hotel = PartnerHotel(clinic_id=clinic_id, name="Bench Hotel", address="2 Bench Road",
                             distance_note="next door", nightly_min_minor=150_000,
                             nightly_max_minor=250_000, currency="THB", accessible=True)
        db.session.add(hotel)
        ctype = ConsultationType(clinic_id=clinic_id, name="Bench assessment", mode="in_person",
                                 duration_minutes=60, deposit_minor=5_000_00, currency="THB")
        db.session.add(ctype)
        db.session.commit()
        seeded.update(coordinator_id=coordinator.id, hotel_id=hotel.id,
                      in_person_id=ctype.id)
        db.session.remove()
    return seeded


def add_trips(app, seeded: dict, first: int, count: int) -> None:  # type: ignore[no-untyped-def]
    """Trips `first`..: each a new patient with a confirmed booking the day after landing."""
    now = datetime.now(UTC)
    with app.app_context():
        sealed = crypto.seal("X12345678")
        doctors = seeded["doctor_ids"]
        for n in range(first, first + count):
            patient = User(email=f"traveller{n:04d}@bench.example.com", name=f"Traveller {n:04d}",
                           role="patient", timezone="Europe/London", country="GB",
                           email_verified_at=now)
            patient.set_password(PASSWORD)
            db.session.add(patient)
            db.session.flush()
            # One booking every 45 minutes (never two at once), each landing 30 hours before:
            # 200 trips land between 18 hours and 7 days from now.
            start = now + timedelta(days=2, minutes=45 * n)
            landing = start - timedelta(hours=30)
            booking = Booking(reference=f"TR{n:07d}", patient_id=patient.id,
                              clinic_id=seeded["clinic_id"], doctor_id=doctors[n % len(doctors)],
                              consultation_type_id=seeded["in_person_id"], state="confirmed",
                              starts_at=start, ends_at=start + timedelta(minutes=60),
                              blocked_from=start, blocked_until=start + timedelta(minutes=60),
                              patient_timezone="Europe/London", deposit_minor=5_000_00,
                              currency="THB")
            db.session.add(booking)
            trip = Trip(patient_id=patient.id, clinic_id=seeded["clinic_id"],
                        passport_nationality="GB", passport_number_sealed=sealed,
                        passport_expiry=date.today() + timedelta(days=2000),
                        hotel_choice="partner", partner_hotel_id=seeded["hotel_id"],
                        pickup_status="requested", pickup_vehicle="van", pickup_luggage=2,
                        pickup_wheelchair=n % 5 == 0, interpreter_language="ar" if n % 7 == 0
                        else None)
            db.session.add(trip)
            db.session.flush()
            db.session.add(TripBooking(trip_id=trip.id, booking_id=booking.id))
            db.session.add_all([
                Flight(trip_id=trip.id, direction="arrival", airline="TG", number=str(900 + n),
                       airport="BKK", scheduled_at=landing),
                Flight(trip_id=trip.id, direction="departure", airline="TG",
                       number=str(1900 + n), airport="BKK",
                       scheduled_at=start + timedelta(days=6))])
            db.session.add_all(Companion(trip_id=trip.id, name=f"Companion {n}-{k}",
                                         relationship_to_patient="spouse", nationality="GB",
                                         passport_number_sealed=sealed,
                                         passport_expiry=date.today() + timedelta(days=2000))
                               for k in range(2))
        db.session.commit()
        db.session.remove()


def issue_a_letter(app, seeded: dict) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The first trip's visa letter, issued through the letters service; (trip id, token)."""
    from booking.travel import letters

    with app.app_context():
        trip = db.session.get(Trip, db.session.scalar(db.select(Trip.id).order_by(Trip.id)))
        # Its deposit, as the Stripe webhook records a paid one.
        db.session.add(LedgerEntry(booking_id=trip.bookings[0].id, kind="charge",
                                   status="succeeded", amount_minor=5_000_00, currency="THB",
                                   payment_intent_id="pi_bench_1"))
        letter = VisaLetter(trip_id=trip.id, number="SBV-2026-BENCH1", token="b" * 43,
                            requested_by_id=trip.patient_id)
        db.session.add(letter)
        db.session.flush()
        coordinator = db.session.get(User, seeded["coordinator_id"])
        letters.issue_letter(coordinator, letter)
        db.session.commit()
        found = (trip.id, letter.token, trip.patient.email)
        db.session.remove()
    return found


def pdf_times(app, trip_id: int) -> tuple[float, float]:
    """Seconds for the first render in a fresh process (empty font cache) and the mean of 5
    renders after it."""
    with tempfile.TemporaryDirectory() as cache:
        env = {"SPINEBRIDGE_FONT_CACHE": cache, "BENCH_DATABASE_URL": database_url(),
               "PATH": "/usr/bin:/bin"}
        done = subprocess.run([sys.executable, "-c", PDF_SCRIPT, str(ROOT), str(trip_id)],
                              capture_output=True, text=True,
                              timeout=300, env=env, cwd=ROOT)
        if done.returncode:
            raise BenchError(f"PDF render failed: {done.stderr[-2000:]}")
        first, warm = (float(x) for x in done.stdout.split()[-2:])
    return first, warm


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench/travel.py needs wrk on the PATH (apt-get install -y wrk)", file=sys.stderr)
        return 2
    url = database_url()
    ensure_database(url)
    app = create_app(bench_config())
    for name in ("booking.access", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    reset_schema(app)
    started = datetime.now(UTC)
    seeded = seed(app)
    add_trips(app, seeded, 0, FEW)
    trip_id, token, patient_email = issue_a_letter(app, seeded)
    patient_client, patient = cookie_for(app, patient_email)
    coordinator_client, coordinator = cookie_for(app, "coordinator@bench.example.com")
    today = datetime.now(UTC).astimezone(CLINIC_ZONE).date()
    paths = {"trip page": f"/trips/{trip_id}", "itinerary .ics": f"/trips/{trip_id}/itinerary.ics",
             "travel desk": f"/clinic/travel?start={today.isoformat()}",
             "desk CSV": f"/clinic/travel.csv?start={today.isoformat()}",
             "verification page": f"/verify-letter/{token}"}
    clients = {"trip page": patient_client, "itinerary .ics": patient_client,
               "travel desk": coordinator_client, "desk CSV": coordinator_client,
               "verification page": app.test_client()}
    auth = {"trip page": f"Cookie: {patient}", "itinerary .ics": f"Cookie: {patient}",
            "travel desk": f"Cookie: {coordinator}", "desk CSV": f"Cookie: {coordinator}"}
    few = {n: statements(app, clients[n], paths[n], {}) for n in paths}
    add_trips(app, seeded, FEW, TRIPS - FEW)
    many = {n: statements(app, clients[n], paths[n], {}) for n in paths}
    log(f"{TRIPS} trips landing in the next 7 days; statements {few} -> {many}")
    first, warm = pdf_times(app, trip_id)
    log(f"letter PDF: first {first:.2f} s (empty font cache), then {warm:.2f} s")
    with app.app_context():
        db.engine.dispose()

    results: dict[str, dict] = {}
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as logfile:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = gunicorn("bench.wsgi_bench:app", port, logfile)
        try:
            wait_until_up(server, base)
            results["bare route"] = load(base + "/bench/bare", "bare route")
            for name, path in paths.items():
                results[name] = load(base + path, name, auth.get(name))
        finally:
            stop(server)
        logfile.seek(0)
        tail = logfile.read()[-3000:]
    bare = results["bare route"]
    print()
    print(f"{'page':<20}{'req/s':>8}{'p99 ms':>9}  of bare   SQL at {FEW} -> {TRIPS} trips")
    print(f"{'bare route':<20}{bare['rps']:>8.0f}{bare['p99']:>9.1f}")
    for name in paths:
        r = results[name]
        print(f"{name:<20}{r['rps']:>8.0f}{r['p99']:>9.1f}  {r['rps'] / bare['rps']:>6.1%}   "
              f"{few[name]} -> {many[name]}")
    grew = [n for n in few if many[n] > few[n]]
    print(f"SQL per page: {'the same' if not grew else 'grows on ' + ', '.join(grew)}")
    print(f"Letter PDF: {first:.2f} s the first time (font cache empty), {warm:.2f} s after")
    print(f"wrk -t2 -c32 -d6s, gunicorn -w 2 sync, PostgreSQL; total "
          f"{datetime.now(UTC) - started}")
    if "Traceback" in tail:
        print(f"--- gunicorn log (tail) ---\n{tail}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.SubprocessError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
