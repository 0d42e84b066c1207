"""Benchmark: the everyday pages against a bare Flask app on the same gunicorn, in one run.

Seeds the benchmark database (PostgreSQL `bench`): the demo data, a bench clinic with 20
doctors (Mon-Fri plans), a coordinator, and 5,000 confirmed bookings in one week of that
clinic (20 doctors, every 40 minutes round the clock); a patient with a passed screening and
an API token. Then serves `bench/wsgi_bare.py` (a bare Flask app) and the app
(`bench/wsgi_bench.py`), each with gunicorn `-w 2` on 127.0.0.1 (both up, one loaded at a
time), and in each of BENCH_ROUNDS rounds (default 3) loads the bare app, each page, and the
bare app again with `wrk -t2 -c32 -d6s`, signed in with a session cookie where the page
needs one:

  bare app /bench/bare · app /healthz · home · slot page (patient) · coordinator week
  calendar · coordinator dashboard · 60 days of availability (bearer token, with
  `Accept-Encoding: gzip` as browsers and HTTP libraries send it, and again without, beside
  the bare app answering the same number of bytes)

and counts each signed-in page's SQL statements at 500 and at 5,000 bookings. Prints the
median round's req/s, p99 and the ratios (each against the same round's bare app, the mean
of its two loads) the issue sets as goals (public >= 50 % of bare, signed-in >= 25 %,
availability >= 50 % of /healthz, /healthz >= 80 % of bare, p99 <= 2x bare's p99), PASS/FAIL
beside each (a FAIL still exits 0).

    .venv/bin/python bench/pages.py
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench._common import (  # noqa: E402
    BenchError,
    bench_config,
    database_url,
    ensure_database,
    log,
    reset_schema,
    verdict,
)
from bench.availability import (  # noqa: E402
    free_port,
    parse_wrk,
    seed_clinic,
    stop,
    wait_until_up,
)
from booking import create_app  # noqa: E402
from booking.accounts.models import User  # noqa: E402
from booking.accounts.services import create_api_token  # noqa: E402
from booking.core.zones import CLINIC_ZONE  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.scheduling.models import Booking  # noqa: E402
from booking.screening.services import record_screening  # noqa: E402

BOOKINGS = 5_000
WRK = ["-t2", "-c32", "-d6s", "--latency"]
WORKERS = 2
#: Rounds of the whole set (the median is reported): BENCH_ROUNDS, default 3.
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
PASSWORD = "bench-password-123"


def seed(app) -> dict:  # type: ignore[no-untyped-def]
    seeded = seed_clinic(app)
    with app.app_context():
        coordinator = User(email="coordinator@bench.example.com", name="Bench Coordinator",
                           role="coordinator", clinic_id=seeded["clinic_id"],
                           timezone="Asia/Bangkok", email_verified_at=datetime.now(UTC))
        coordinator.set_password(PASSWORD)
        db.session.add(coordinator)
        patient = db.session.get(User, seeded["patient_id"])
        patient.set_password(PASSWORD)
        record_screening(patient, {
            "pain_months": 18, "prior_treatments": ["physiotherapy"], "prior_surgery": False,
            "nrs": 6, "odi_answers": {k: 2 for k in ("pain", "care", "lifting", "walking",
                                                     "sitting", "standing", "sleeping", "sex",
                                                     "social", "travel")},
            "imaging_available": True, "red_flags": []})
        seeded["token"] = create_api_token(patient, "bench")
        patients = [User(email=f"p{n:02d}@bench.example.com", name=f"Patient {n:02d}",
                         role="patient", timezone="America/New_York", country="US",
                         email_verified_at=datetime.now(UTC)) for n in range(20)]
        for p in patients:
            p.set_password(PASSWORD)
        db.session.add_all(patients)
        db.session.commit()
        seeded["patients"] = [p.id for p in patients]
        today = datetime.now(UTC).astimezone(CLINIC_ZONE).date()
        seeded["monday"] = today + timedelta(days=7 - today.weekday())
        db.session.remove()
    return seeded


def add_bookings(app, seeded: dict, first: int, count: int) -> None:  # type: ignore[no-untyped-def]
    """Confirmed bookings `first`..: doctor n % 20, every 40 minutes of the week, each doctor
    with their own patient (neither a doctor's nor a patient's bookings overlap)."""
    monday = datetime.combine(seeded["monday"], time.min, tzinfo=CLINIC_ZONE).astimezone(UTC)
    doctors, patients = seeded["doctor_ids"], seeded["patients"]
    rows = []
    for n in range(first, first + count):
        i, k = n % len(doctors), n // len(doctors)
        start = monday + timedelta(minutes=40 * k)
        rows.append({
            "reference": f"PG{n:07d}", "patient_id": patients[i], "clinic_id": seeded["clinic_id"],
            "doctor_id": doctors[i], "consultation_type_id": seeded["ctype_id"],
            "state": "confirmed", "starts_at": start, "ends_at": start + timedelta(minutes=30),
            "blocked_from": start, "blocked_until": start + timedelta(minutes=40),
            "hold_expires_at": None, "patient_timezone": "America/New_York",
            "deposit_minor": 1_500_00, "currency": "THB", "created_by_id": None,
            "cancel_reason": "", "created_at": monday - timedelta(days=3),
            "updated_at": monday - timedelta(days=3)})
    with app.app_context():
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.commit()
        db.session.remove()


#: The browser the signed-in pages are loaded as: the one that signed in (Flask-Login notes
#: the User-Agent at sign-in; another one would make every request mark the session not fresh
#: and send a new cookie, which no real browser does).
BROWSER = "Mozilla/5.0 (SpineBridge bench)"


def cookie_for(app, email: str):  # type: ignore[no-untyped-def]
    """A signed-in test client and its session cookie, as a browser would hold it."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/login", data={"csrf_token": token, "email": email,
                                         "password": PASSWORD})
    if answer.status_code != 302:
        raise BenchError(f"could not sign in {email}: {answer.status_code}")
    return client, f"session={client.get_cookie('session').value}"


def statements(app, client, path: str, headers: dict) -> int:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        seen.append("x")

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if answer.status_code != 200:
        raise BenchError(f"GET {path} answered {answer.status_code}")
    return len(seen)


def gunicorn(module: str, port: int, logfile) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": database_url()}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--chdir", str(ROOT), "--workers",
         str(WORKERS), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}", module],
        env=env, stdout=logfile, stderr=subprocess.STDOUT, cwd=ROOT)


def load(url: str, label: str, headers: list[str] | str | None = None) -> dict:
    headers = [headers] if isinstance(headers, str) else headers or []
    extra = [arg for header in headers for arg in ("-H", header)]
    subprocess.run(["wrk", "-t2", "-c32", "-d2s", *extra, url], check=True,
                   capture_output=True, timeout=60)
    done = subprocess.run(["wrk", *WRK, *extra, url], check=True, capture_output=True,
                          text=True, timeout=120)
    result = parse_wrk(done.stdout)
    if result["non_2xx"]:
        raise BenchError(f"{label}: {result['non_2xx']} of {result['requests']} not 2xx")
    log(f"{label}: {result['rps']:.0f} req/s, p99 {result['p99']:.1f} ms")
    return result


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench/pages.py needs wrk on the PATH (apt-get install -y wrk)", file=sys.stderr)
        return 2
    url = database_url()
    ensure_database(url)
    app = create_app(bench_config())
    for name in ("booking.access", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    reset_schema(app)
    seeded = seed(app)
    monday = seeded["monday"]
    now = datetime.now(UTC)
    start_day = (now + timedelta(days=2)).astimezone(CLINIC_ZONE).date()
    paths = {
        "home": "/",
        "slot page": f"/book/{seeded['ctype_id']}?tz=America/New_York",
        "week calendar": f"/coordinator/week?start={monday.isoformat()}",
        "dashboard": "/coordinator/",
        "availability 60 days": "/api/v1/availability?" + urlencode({
            "consultation_type": seeded["ctype_id"], "from": start_day.isoformat(),
            "to": (start_day + timedelta(days=59)).isoformat(), "tz": "America/New_York"}),
    }
    patient_client, patient = cookie_for(app, "patient@example.com")
    coordinator_client, coordinator = cookie_for(app, "coordinator@bench.example.com")
    clients = {"slot page": patient_client, "week calendar": coordinator_client,
               "dashboard": coordinator_client, "availability 60 days": app.test_client()}
    bearer = f"Authorization: Bearer {seeded['token']}"
    browser = f"User-Agent: {BROWSER}"
    auth = {"slot page": [f"Cookie: {patient}", browser],
            "week calendar": [f"Cookie: {coordinator}", browser],
            "dashboard": [f"Cookie: {coordinator}", browser], "availability 60 days": bearer}
    # As browsers and HTTP libraries ask by default; the plain answer is measured beside it.
    gzip = [bearer, "Accept-Encoding: gzip"]

    def as_headers(name: str) -> dict:
        key, _sep, value = bearer.partition(": ")
        return {key: value} if auth[name] == bearer else {}

    add_bookings(app, seeded, 0, 500)
    few = {n: statements(app, clients[n], paths[n], as_headers(n)) for n in auth}
    add_bookings(app, seeded, 500, BOOKINGS - 500)
    many = {n: statements(app, clients[n], paths[n], as_headers(n)) for n in auth}
    plain_size = len(clients["availability 60 days"].get(
        paths["availability 60 days"], headers=as_headers("availability 60 days")).get_data())
    log(f"{BOOKINGS} bookings in the week of {monday}; statements {few} -> {many}")
    with app.app_context():
        db.engine.dispose()

    goals = {"healthz": ("bare", 0.80), "home": ("bare", 0.50), "slot page": ("bare", 0.25),
             "week calendar": ("bare", 0.25), "dashboard": ("bare", 0.25),
             "availability 60 days": ("healthz", 0.50)}
    rounds: list[dict[str, dict]] = []
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as logfile:
        # Both servers up at once (the one not loaded is idle): each round loads the bare app,
        # every page, then the bare app again, so each ratio compares figures taken within a
        # minute of each other; the median round is reported (this box's speed drifts).
        servers = {}
        try:
            for module in ("bench.wsgi_bare:app", "bench.wsgi_bench:app"):
                port = free_port()
                servers[module] = (gunicorn(module, port, logfile), f"http://127.0.0.1:{port}")
            for server, base in servers.values():
                wait_until_up(server, base)
            bare_base = servers["bench.wsgi_bare:app"][1]
            app_base = servers["bench.wsgi_bench:app"][1]
            for number in range(1, ROUNDS + 1):
                log(f"round {number} of {ROUNDS}")
                results: dict[str, dict] = {}
                first = load(bare_base + "/bench/bare", "bare app")
                for name in goals:
                    path = "/healthz" if name == "healthz" else paths[name]
                    headers = gzip if name == "availability 60 days" else auth.get(name)
                    results[name] = load(app_base + path, name, headers)
                last = load(bare_base + "/bench/bare", "bare app")
                results["bare app"] = {key: (first[key] + last[key]) / 2
                                       for key in ("rps", "p99")}
                rounds.append(results)
            # Information, once: the whole answer without gzip, beside a bare app's answer of
            # the same size.
            sized = load(bare_base + f"/bench/bare/{plain_size}", "bare app, same size")
            plain = load(app_base + paths["availability 60 days"], "availability, no gzip",
                         bearer)
        finally:
            for server, _base in servers.values():
                stop(server)
        logfile.seek(0)
        tail = logfile.read()[-3000:]

    def median(name: str, key: str, against: str | None = None) -> float:
        return statistics.median(
            r[name][key] / (r[against][key] if against else 1) for r in rounds)

    print()
    print(f"median of {ROUNDS} rounds (each ratio against the same round's figures)")
    print(f"{'page':<22}{'req/s':>8}{'p99 ms':>9}  ratio (goal)            p99 vs bare   SQL")
    print(f"{'bare app':<22}{median('bare app', 'rps'):>8.0f}"
          f"{median('bare app', 'p99'):>9.1f}")
    for name, (against, goal) in goals.items():
        base = "bare app" if against == "bare" else "healthz"
        ratio = median(name, "rps", base)
        p99_ratio = median(name, "p99", "bare app")
        sql = f"{few[name]} -> {many[name]}" if name in few else ""
        each = " ".join(f"{r[name]['rps'] / r[base]['rps']:.0%}" for r in rounds)
        print(f"{name:<22}{median(name, 'rps'):>8.0f}{median(name, 'p99'):>9.1f}  "
              f"{ratio:>5.0%} of {against} (>= {goal:.0%}) {verdict(ratio >= goal)}  "
              f"{p99_ratio:.1f}x {verdict(p99_ratio <= 2)}  {sql}  [rounds: {each}]")
    # Information, not a goal: a client that does not ask for gzip gets the whole answer, and
    # moving it costs what it costs a bare app too.
    healthz_rps = median("healthz", "rps")
    print(f"{'availability, no gzip':<22}{plain['rps']:>8.0f}{plain['p99']:>9.1f}  "
          f"{plain['rps'] / healthz_rps:>5.0%} of healthz; "
          f"{plain['rps'] / sized['rps']:.0%} of a bare app's {plain_size / 1e6:.1f} MB answer "
          f"({sized['rps']:.0f} req/s, p99 {sized['p99']:.1f} ms); p99 "
          f"{plain['p99'] / sized['p99']:.1f}x")
    grew = [n for n in few if many[n] > few[n]]
    print(f"SQL per page at 500 vs {BOOKINGS} bookings: "
          f"{'the same' if not grew else 'grows on ' + ', '.join(grew)} {verdict(not grew)}")
    print(f"wrk {' '.join(WRK)}, gunicorn -w {WORKERS} sync, PostgreSQL; "
          f"total {datetime.now(UTC) - now}")
    if "Traceback" in tail:
        print(f"--- gunicorn log (tail) ---\n{tail}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.SubprocessError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
