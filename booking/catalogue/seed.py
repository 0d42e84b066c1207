"""`flask seed-demo`: three demo clinics in Bangkok, their staff and two patients. Idempotent."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import click
import holidays as public_holidays
from flask.cli import with_appcontext
from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import (
    Clinic,
    Condition,
    ConsultationType,
    Doctor,
    ExchangeRate,
    Treatment,
)
from booking.core import audit
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE_NAME
from booking.extensions import db
from booking.scheduling.models import Holiday, WorkingInterval
from booking.screening.questions import ODI_SECTIONS
from booking.screening.services import latest_screening, record_screening
from booking.travel.models import PartnerHotel

DEMO_PASSWORD = "demo-password-123"

CONDITIONS = [
    ("degenerative-disc-disease", "Degenerative disc disease",
     "Wear of the discs between the vertebrae that can cause long-lasting low back or neck pain.",
     "As discs lose water and height with age or injury they can become painful. Pain often "
     "worsens with sitting and bending. Most people improve with exercise-based care; a few have "
     "pain for years."),
    ("herniated-disc-annular-tear", "Herniated disc and annular tear",
     "A bulge or tear in the disc's outer ring that can press on or irritate a nerve.",
     "A tear in the annulus can let disc material bulge out and irritate nearby nerves, causing "
     "back pain and sometimes leg pain (sciatica). Many herniations shrink on their own within "
     "months."),
    ("muscle-ligament-tendon-strain", "Muscle, ligament and tendon strain",
     "Injury to the soft tissues that support the spine, sometimes slow to heal.",
     "Strains and sprains usually settle within weeks. When they do not, pain can persist "
     "through changed movement patterns and weak healing of ligaments and tendons."),
    ("chronic-inflammation-nerve-irritation", "Chronic inflammation and nerve irritation",
     "Long-lasting inflammation around joints and nerve roots that keeps pain signals firing.",
     "Inflammation of the facet joints or around nerve roots can cause persistent pain, "
     "tingling or burning. It is important to rule out other causes first."),
]

TREATMENTS = [
    {
        "slug": "uc-msc-intradiscal-injection",
        "name": "UC-MSC intradiscal injection",
        "summary": "Umbilical-cord mesenchymal stem cells injected into a painful disc under "
                   "imaging guidance.",
        "description": "Cells from donated umbilical cord tissue, screened and prepared in a "
                       "licensed laboratory, are injected into the disc under X-ray guidance "
                       "with local anaesthetic. You go home the same day; activity is limited "
                       "for some weeks.",
        "price": (450_000, 850_000),
        "evidence_summary": "Early-phase studies in small numbers of patients suggest some people "
                            "have less pain and better function, but there are no large "
                            "randomised trials showing a lasting benefit over placebo or "
                            "standard care. It may not help you, and long-term safety is not "
                            "fully known.",
        "status": "approved_research_protocol",
        "note": "Offered in Thailand only under a research protocol approved by a hospital "
                "ethics committee. Not approved as a standard treatment for back pain by the "
                "Thai FDA, the US FDA or the EMA.",
        "not_candidates": "People with active infection or fever; cancer now or in the past "
                          "five years; pregnancy; bladder or bowel changes or numbness in the "
                          "saddle area (seek urgent care); spinal instability needing surgery; "
                          "severe disc collapse.",
        "conditions": ["degenerative-disc-disease", "herniated-disc-annular-tear"],
    },
    {
        "slug": "uc-msc-soft-tissue-injection",
        "name": "UC-MSC soft-tissue injection",
        "summary": "Stem cells injected into injured ligaments, tendons or facet joint tissue.",
        "description": "Ultrasound-guided injections into the ligaments, tendons or joints "
                       "thought to cause pain, usually combined with rehabilitation.",
        "price": (250_000, 500_000),
        "evidence_summary": "Evidence comes mainly from case series and small trials in other "
                            "joints and tendons; evidence for back pain is very limited. "
                            "Benefits, if any, are uncertain.",
        "status": "investigational",
        "note": "Investigational; offered only within a clinic research programme with "
                "informed consent.",
        "not_candidates": "People with active infection, cancer now or in the past five years, "
                          "pregnancy, or bleeding disorders.",
        "conditions": ["muscle-ligament-tendon-strain", "chronic-inflammation-nerve-irritation"],
    },
    {
        "slug": "regenerative-rehabilitation-programme",
        "name": "Regenerative rehabilitation programme",
        "summary": "A supervised two-week programme of exercise therapy, education and manual "
                   "therapy.",
        "description": "Daily sessions with a physiotherapist and a spine physician, with a plan "
                       "to continue at home. Often combined with other treatments.",
        "price": (60_000, 120_000),
        "evidence_summary": "Exercise-based rehabilitation is recommended by international "
                            "guidelines for chronic low back pain and has good evidence for "
                            "modest improvements in pain and function.",
        "status": "standard_care",
        "note": "Standard care for chronic low back pain.",
        "not_candidates": "People with a recent fracture or a condition that needs urgent "
                          "surgery.",
        "conditions": ["degenerative-disc-disease", "muscle-ligament-tendon-strain",
                       "chronic-inflammation-nerve-irritation", "herniated-disc-annular-tear"],
    },
]

CLINICS = [
    {
        "slug": "sukhumvit-spine",
        "name": "Sukhumvit Spine & Regenerative Centre (demo)",
        "summary": "A spine centre with an ethics-approved cell therapy research programme and a "
                   "dedicated international patient team.",
        "address": "88 Sukhumvit Soi 11, Khlong Toei Nuea, Watthana, Bangkok 10110, Thailand",
        "accreditation": "JCI accredited (demo data)",
        "languages": ["en", "th", "ar", "ja"],
        "phone": "+6620000001",
        "email": "care@sukhumvit-spine.example",
        "coordinator": "Kanya Suwan",
        "licence": "MOPH licence 10110-DEMO-001 (demo data)",
        "hotels": [("Sukhumvit Garden Residence (demo)", "12 Sukhumvit Soi 11, Bangkok 10110",
                    "3 minutes on foot", 1_800, 2_600, True),
                   ("Nana Riverside Suites (demo)", "40 Sukhumvit Soi 4, Bangkok 10110",
                    "10 minutes by taxi", 3_200, 5_500, True)],
        "doctors": [("Dr. Anan Srisuk", "Orthopaedic spine surgeon", ["en", "th"]),
                    ("Dr. Malee Chaiyaporn", "Pain medicine and interventional spine",
                     ["en", "th", "ja"])],
        "treatments": ["uc-msc-intradiscal-injection", "uc-msc-soft-tissue-injection",
                       "regenerative-rehabilitation-programme"],
    },
    {
        "slug": "chao-phraya-ortho",
        "name": "Chao Phraya Orthopaedic Institute (demo)",
        "summary": "Riverside orthopaedic hospital offering regenerative spine care and "
                   "rehabilitation.",
        "address": "215 Charoen Krung Road, Bang Rak, Bangkok 10500, Thailand",
        "accreditation": "JCI accredited; Thai HA certified (demo data)",
        "languages": ["en", "th", "zh"],
        "phone": "+6620000002",
        "email": "international@chaophraya-ortho.example",
        "coordinator": "Preecha Boonmee",
        "licence": "MOPH licence 10500-DEMO-002 (demo data)",
        "hotels": [("Charoen Krung River View (demo)", "300 Charoen Krung Road, Bangkok 10500",
                    "5 minutes on foot", 2_200, 3_800, True)],
        "doctors": [("Dr. Somchai Wattanakul", "Spine surgeon", ["en", "th"]),
                    ("Dr. Ploy Rattanakorn", "Rehabilitation medicine", ["en", "th", "zh"])],
        "treatments": ["uc-msc-intradiscal-injection", "regenerative-rehabilitation-programme"],
    },
    {
        "slug": "silom-pain-rehab",
        "name": "Silom Pain & Rehabilitation Clinic (demo)",
        "summary": "An outpatient clinic for chronic back pain focused on rehabilitation and "
                   "image-guided injections.",
        "address": "50 Silom Road, Suriyawong, Bang Rak, Bangkok 10500, Thailand",
        "accreditation": "Thai HA certified (demo data)",
        "languages": ["en", "th", "de"],
        "phone": "+6620000003",
        "email": "hello@silom-pain.example",
        "coordinator": "Siriporn Kaewmanee",
        "licence": "MOPH licence 10500-DEMO-003 (demo data)",
        "hotels": [("Silom Serviced Apartments (demo)", "72 Silom Road, Bangkok 10500",
                    "2 minutes on foot", 1_500, 2_200, False)],
        "doctors": [("Dr. Niran Thongdee", "Physical medicine and rehabilitation",
                     ["en", "th", "de"])],
        "treatments": ["uc-msc-soft-tissue-injection", "regenerative-rehabilitation-programme"],
    },
]

CANCELLATION = ("Cancel 7 days or more before your consultation and the deposit is refunded in "
                "full; 2 to 7 days before, half of it; later, it is kept. If the clinic "
                "cancels, it is refunded in full.")

RATES = {"USD": "0.0290", "EUR": "0.0265", "GBP": "0.0228", "AUD": "0.0445", "SGD": "0.0390",
         "AED": "0.1065", "JPY": "4.35", "CNY": "0.2080"}


def _upsert(model: type, key: dict, values: dict):  # type: ignore[no-untyped-def]
    obj = db.session.scalar(select(model).filter_by(**key))
    created = obj is None
    if created:
        obj = model(**key)
        db.session.add(obj)
    for field, value in values.items():
        setattr(obj, field, value)
    db.session.flush()
    if created:
        audit.record(None, f"{model.__name__.lower()}.seeded", obj)
    return obj


def _user(email: str, name: str, role: str, **extra: object) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, email_verified_at=utcnow(), **extra)
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        db.session.flush()
        audit.record(None, "user.seeded", user, after={"email": email, "role": role})
    return user


#: Clinic-time working plan for every demo doctor: weekdays with a lunch break, Saturday mornings.
DEMO_PLAN = [(day, time(9), time(12)) for day in range(5)] + \
    [(day, time(13), time(17)) for day in range(5)] + [(5, time(9), time(12))]


def _seed_plan(doctor: Doctor) -> None:
    has_plan = db.session.scalar(select(WorkingInterval.id).where(
        WorkingInterval.doctor_id == doctor.id).limit(1))
    if has_plan is None:
        for weekday, start, end in DEMO_PLAN:
            db.session.add(WorkingInterval(doctor_id=doctor.id, weekday=weekday,
                                           start_time=start, end_time=end))


def _seed_screening(patient: User) -> None:
    """A passed pre-screening as the demo patient's baseline, so the demo (and an API client)
    can book at once; a newly registered patient answers the questions first."""
    if latest_screening(patient) is not None:
        return
    record_screening(patient, {
        "pain_months": 24, "prior_treatments": ["physiotherapy", "medication"],
        "prior_surgery": False, "nrs": 6,
        "odi_answers": {key: 2 for key, _label, _options in ODI_SECTIONS},
        "imaging_available": True, "red_flags": []})


def seed_holidays(year: int) -> int:
    """Add Thailand's public holidays for a year (kept if already there; editable later)."""
    known = set(db.session.scalars(select(Holiday.day)))
    added = 0
    for day, name in sorted(public_holidays.Thailand(years=year).items()):
        if day not in known:
            db.session.add(Holiday(day=day, name=name[:200]))
            added += 1
    db.session.flush()
    return added


def seed_demo() -> list[tuple[str, str]]:
    """Load the demo catalogue and accounts; returns (role, email) for each login."""
    conditions = {
        slug: _upsert(Condition, {"slug": slug},
                      {"name": name, "summary": summary, "description": description})
        for slug, name, summary, description in CONDITIONS
    }
    treatments = {}
    for t in TREATMENTS:
        treatment = _upsert(Treatment, {"slug": t["slug"]}, {
            "name": t["name"], "summary": t["summary"], "description": t["description"],
            "price_min_minor": t["price"][0] * 100, "price_max_minor": t["price"][1] * 100,
            "currency": "THB", "evidence_summary": t["evidence_summary"],
            "regulatory_status": t["status"], "regulatory_note": t["note"],
            "not_candidates": t["not_candidates"],
        })
        treatment.conditions = [conditions[s] for s in t["conditions"]]
        treatments[t["slug"]] = treatment
    logins: list[tuple[str, str]] = []
    for c in CLINICS:
        clinic = _upsert(Clinic, {"slug": c["slug"]}, {
            "name": c["name"], "summary": c["summary"], "address": c["address"],
            "accreditation": c["accreditation"], "languages": c["languages"],
            "phone": c["phone"], "email": c["email"], "cancellation_policy": CANCELLATION,
            "licence": c["licence"],
        })
        for name, address, distance, low, high, accessible in c["hotels"]:
            _upsert(PartnerHotel, {"clinic_id": clinic.id, "name": name}, {
                "address": address, "distance_note": distance, "nightly_min_minor": low * 100,
                "nightly_max_minor": high * 100, "currency": "THB", "accessible": accessible})
        clinic.treatments = [treatments[s] for s in c["treatments"]]
        for name, specialty, languages in c["doctors"]:
            doctor = _upsert(Doctor, {"clinic_id": clinic.id, "name": name},
                             {"specialty": specialty, "languages": languages})
            _seed_plan(doctor)
        _upsert(ConsultationType, {"clinic_id": clinic.id, "name": "Video consultation"},
                {"mode": "video", "duration_minutes": 30, "deposit_minor": 1_500_00,
                 "currency": "THB", "buffer_after_minutes": 10})
        _upsert(ConsultationType, {"clinic_id": clinic.id, "name": "In-person assessment"},
                {"mode": "in_person", "duration_minutes": 60, "deposit_minor": 5_000_00,
                 "currency": "THB", "buffer_before_minutes": 15, "buffer_after_minutes": 15})
        email = f"coordinator@{c['slug']}.example.com"
        _user(email, c["coordinator"], "coordinator", clinic_id=clinic.id,
              timezone=CLINIC_ZONE_NAME, phone=c["phone"])
        logins.append(("coordinator", email))
    seed_holidays(utcnow().year)
    seed_holidays(utcnow().year + 1)
    for currency, rate in RATES.items():
        if db.session.get(ExchangeRate, currency) is None:
            db.session.add(ExchangeRate(currency=currency, rate=Decimal(rate)))
    _user("admin@example.com", "Demo Admin", "admin", timezone=CLINIC_ZONE_NAME)
    patients = [
        _user("patient@example.com", "Jane Miller", "patient", country="US",
              timezone="America/New_York", phone="+12125550123", currency="USD"),
        _user("patient2@example.com", "Oliver Brown", "patient", country="AU",
              timezone="Australia/Sydney", phone="+61291234567", currency="AUD"),
    ]
    db.session.flush()
    for patient in patients:
        _seed_screening(patient)
    return [("admin", "admin@example.com"), *logins,
            ("patient", "patient@example.com"), ("patient", "patient2@example.com")]


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load demo clinics, doctors, treatments, staff and patients (safe to run again)."""
    logins = seed_demo()
    db.session.commit()
    click.echo(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:<12} {email}")
