"""Admins manage clinics, treatments, staff and rates; every change lands in the audit trail."""

from __future__ import annotations

from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import Clinic, ConsultationType, ExchangeRate, Treatment
from booking.core.audit import AuditEvent
from booking.extensions import db
from tests.conftest import login, post_form
from tests.mailsink import first_link

CLINIC = {"name": "Ari Spine Clinic", "slug": "ari-spine", "summary": "New clinic",
          "address": "1 Phahonyothin Rd, Bangkok 10400", "accreditation": "Thai HA",
          "languages": "en, th", "phone": "+6620000009", "email": "ari@example.com",
          "cancellation_policy": "Seven days.", "active": "y"}


def _treatment(app, slug="uc-msc-intradiscal-injection") -> Treatment:
    with app.app_context():
        t = db.session.scalar(select(Treatment).where(Treatment.slug == slug))
        db.session.expunge_all()
        return t


def test_admin_creates_a_clinic_and_it_is_public_and_audited(as_role, app, client):
    admin = as_role("admin")
    response = post_form(admin, "/admin/clinics/new", CLINIC)
    assert response.status_code == 302
    assert "Ari Spine Clinic" in client.get("/clinics/ari-spine").get_data(as_text=True)
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "ari-spine"))
        assert clinic.languages == ["en", "th"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "clinic.created"))
        assert event.actor_label == "admin@example.com"
        assert event.object_id == str(clinic.id) and event.after["name"] == "Ari Spine Clinic"


def test_clinic_form_errors_keep_what_was_typed(as_role, app):
    admin = as_role("admin")
    response = post_form(admin, "/admin/clinics/new",
                         {**CLINIC, "slug": "Not A Slug!", "languages": "en, xx-nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Ari Spine Clinic"' in html and 'value="Not A Slug!"' in html
    assert "lower-case letters" in html and "Unknown language code" in html
    taken = post_form(admin, "/admin/clinics/new", {**CLINIC, "slug": "sukhumvit-spine"})
    assert taken.status_code == 422
    assert "already used" in taken.get_data(as_text=True)
    assert 'value="Ari Spine Clinic"' in taken.get_data(as_text=True)


def test_treatment_price_change_records_before_and_after(as_role, app, client):
    admin = as_role("admin")
    treatment = _treatment(app)
    edit = f"/admin/treatments/{treatment.id}/edit"
    page = admin.get(edit).get_data(as_text=True)
    assert 'value="450000"' in page
    form = {
        "name": treatment.name, "slug": treatment.slug, "summary": treatment.summary,
        "description": treatment.description, "price_min": "480000", "price_max": "900000",
        "evidence_summary": treatment.evidence_summary,
        "regulatory_status": treatment.regulatory_status,
        "regulatory_note": treatment.regulatory_note,
        "not_candidates": treatment.not_candidates, "active": "y", "recovery_days": "3",
    }
    with app.app_context():
        clinic_ids = [str(c.id) for c in db.session.scalars(select(Clinic))]
    response = admin.post(edit, data={**form, "clinics": clinic_ids,
                                      "csrf_token": _token(admin, edit)})
    assert response.status_code == 302
    assert "THB\u00a0480,000" in client.get(f"/treatments/{treatment.slug}").get_data(
        as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "treatment.updated"))
        assert event.before == {"price_min_minor": 45_000_000, "price_max_minor": 85_000_000}
        assert event.after == {"price_min_minor": 48_000_000, "price_max_minor": 90_000_000}

    longer = admin.post(edit, data={**form, "price_min": "480000", "price_max": "900000",
                                    "recovery_days": "5", "clinics": clinic_ids,
                                    "csrf_token": _token(admin, edit)})
    assert longer.status_code == 302
    with app.app_context():
        assert db.session.get(type(treatment), treatment.id).recovery_days == 5
    too_long = admin.post(edit, data={**form, "recovery_days": "365",
                                      "csrf_token": _token(admin, edit)})
    assert too_long.status_code == 422

    inverted = admin.post(edit, data={**form, "price_min": "900000", "price_max": "1",
                                      "csrf_token": _token(admin, edit)})
    assert inverted.status_code == 422
    assert "must not be below the lowest" in inverted.get_data(as_text=True)
    assert 'value="900000"' in inverted.get_data(as_text=True)


def _token(client, path):
    from tests.conftest import csrf_token

    return csrf_token(client, path)


def test_consultation_deposit_is_entered_in_baht_and_stored_in_satang(as_role, app):
    admin = as_role("admin")
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "silom-pain-rehab"))
    response = post_form(admin, f"/admin/consultation-types/new?clinic={clinic_id}", {
        "clinic_id": str(clinic_id), "name": "Follow-up video call", "mode": "video",
        "duration_minutes": "20", "deposit": "750", "active": "y",
        "buffer_before_minutes": "5", "buffer_after_minutes": "10",
        "min_notice_minutes": "720", "horizon_days": "60"})
    assert response.status_code == 302
    with app.app_context():
        ctype = db.session.scalar(select(ConsultationType).where(
            ConsultationType.name == "Follow-up video call"))
        assert (ctype.deposit_minor, ctype.currency, ctype.clinic_id) == (75_000, "THB",
                                                                          clinic_id)
        assert (ctype.buffer_before_minutes, ctype.buffer_after_minutes,
                ctype.min_notice_minutes, ctype.horizon_days) == (5, 10, 720, 60)


def test_admin_creates_a_coordinator_who_sets_a_password_by_email(as_role, app, mail_sink):
    admin = as_role("admin")
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "chao-phraya-ortho"))
    missing_clinic = post_form(admin, "/admin/users/new", {
        "name": "Nok", "email": "nok@example.com", "role": "coordinator", "clinic_id": "0"})
    assert missing_clinic.status_code == 422
    assert "must belong to a clinic" in missing_clinic.get_data(as_text=True)

    response = post_form(admin, "/admin/users/new", {
        "name": "Nok Coordinator", "email": "nok@example.com", "role": "coordinator",
        "clinic_id": str(clinic_id)})
    assert response.status_code == 302
    link = first_link(mail_sink.wait_for("nok@example.com")[0], "/reset-password/")
    client = app.test_client()
    set_pw = post_form(client, link.replace(app.config["BASE_URL"], ""),
                       {"password": "coordinator-pass-1", "confirm": "coordinator-pass-1"})
    assert set_pw.status_code == 302
    signed_in = login(client, "nok@example.com", "coordinator-pass-1")
    assert signed_in.headers["Location"] == "/coordinator/"
    assert "Chao Phraya" in client.get("/coordinator/").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.created"))
        assert event.after["role"] == "coordinator" and event.actor_label == "admin@example.com"


def test_coordinator_without_clinic_is_refused_by_the_database(ctx):
    import pytest
    from sqlalchemy.exc import IntegrityError

    db.session.add(User(email="x@example.com", name="X", role="coordinator", password_hash="x",
                        timezone="UTC", language="en", currency="THB"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_suspending_an_account_blocks_sign_in(as_role, app, demo):
    admin = as_role("admin")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == demo["patient2"]))
    response = post_form(admin, f"/admin/users/{user_id}/active", {"active": "0"},
                         token_from="/admin/users")
    assert response.status_code == 302
    assert login(app.test_client(), demo["patient2"], demo["password"]).status_code == 422
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.object_id == str(user_id), AuditEvent.action == "user.suspended"))


def test_exchange_rate_change_moves_displayed_prices(as_role, app, client):
    admin = as_role("admin")
    bad = post_form(admin, "/admin/exchange-rates", {"currency": "USD", "rate": "-1"})
    assert bad.status_code == 422
    ok = post_form(admin, "/admin/exchange-rates", {"currency": "USD", "rate": "0.03"})
    assert ok.status_code == 302
    client.get("/currency/USD")
    html = client.get("/treatments/uc-msc-intradiscal-injection").get_data(as_text=True)
    assert "about $13,500 – $25,500" in html
    with app.app_context():
        assert str(db.session.get(ExchangeRate, "USD").rate).startswith("0.03")
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "exchange_rate.set"))
        assert event.before == {"rate": "0.02900000"} and event.after == {"rate": "0.03"}


def test_audit_page_filters_by_action_and_person(as_role, app):
    admin = as_role("admin")
    post_form(admin, "/admin/clinics/new", CLINIC)
    everything = admin.get("/admin/audit").get_data(as_text=True)
    assert "clinic.created" in everything and "user.seeded" in everything
    filtered = admin.get("/admin/audit?action=clinic.created&actor=admin@").get_data(
        as_text=True)
    assert "clinic.created" in filtered and "user.seeded" not in filtered
    assert "1 record" in filtered
    by_type = admin.get("/admin/audit?object_type=Treatment").get_data(as_text=True)
    assert "treatment.seeded" in by_type and "clinic.created" not in by_type
    bad_date = admin.get("/admin/audit?since=not-a-date&action=clinic.created")
    html = bad_date.get_data(as_text=True)
    assert bad_date.status_code == 422 and "Not a valid date value" in html
    # The other filter still applies, and what was typed stays in the form.
    assert "1 record" in html and 'value="not-a-date"' in html


def test_admin_moves_a_coordinator_to_another_clinic_and_it_is_audited(as_role, app, demo):
    admin = as_role("admin")
    with app.app_context():
        coordinator = db.session.scalar(select(User).where(User.email == demo["coordinator"]))
        user_id = coordinator.id
        other = db.session.scalar(select(Clinic).where(Clinic.slug == "chao-phraya-ortho"))
        other_id, old_clinic_id = other.id, coordinator.clinic_id
    page = admin.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert 'value="Kanya Suwan"' in page or "Kanya" in page
    # A coordinator without a clinic is refused, and what was typed is kept.
    refused = post_form(admin, f"/admin/users/{user_id}/edit",
                        {"name": "Kanya S. (renamed)", "role": "coordinator", "clinic_id": "0"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "must belong to a clinic" in html and 'value="Kanya S. (renamed)"' in html
    moved = post_form(admin, f"/admin/users/{user_id}/edit",
                      {"name": "Kanya S.", "role": "coordinator", "clinic_id": str(other_id)})
    assert moved.status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).clinic_id == other_id
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.updated"))
        assert event.before == {"name": "Kanya Suwan", "clinic_id": old_clinic_id}
        assert event.after == {"name": "Kanya S.", "clinic_id": other_id}
    # The coordinator now sees the other clinic, and no longer their old one.
    html = as_role("coordinator").get("/coordinator/").get_data(as_text=True)
    assert "Chao Phraya" in html and "Sukhumvit Spine" not in html
    # A patient is not staff: there is no staff page for them.
    with app.app_context():
        patient_id = db.session.scalar(select(User.id).where(User.email == demo["patient"]))
    assert admin.get(f"/admin/users/{patient_id}/edit").status_code == 404


def test_admin_cannot_change_their_own_role(as_role, app, demo):
    admin = as_role("admin")
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.email == demo["admin"]))
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "sukhumvit-spine"))
    refused = post_form(admin, f"/admin/users/{admin_id}/edit",
                        {"name": "Admin", "role": "coordinator", "clinic_id": str(clinic_id)})
    assert refused.status_code == 422
    assert "cannot change your own role" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin_id).role == "admin"


def test_a_staff_invitation_lasts_a_week_and_a_new_one_can_be_sent(as_role, app, demo,
                                                                   mail_sink):
    from datetime import timedelta

    admin = as_role("admin")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == demo["coordinator"]))
    sent = post_form(admin, f"/admin/users/{user_id}/invite", {}, token_from="/admin/users")
    assert sent.status_code == 302
    [email] = mail_sink.wait_for(demo["coordinator"])
    assert "within 7 days" in email.get_body(("plain",)).get_content()
    link = first_link(email, "/reset-password/").replace(app.config["BASE_URL"], "")
    client = app.test_client()
    # A reset link would have expired after two hours; the invitation has not.
    app.config["RESET_TOKEN_MAX_AGE"] = timedelta(seconds=-1)
    try:
        assert client.get(link).status_code == 200
        app.config["INVITE_TOKEN_MAX_AGE"] = timedelta(seconds=-1)
        expired = client.get(link)
        assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    finally:
        app.config["RESET_TOKEN_MAX_AGE"] = timedelta(hours=2)
        app.config["INVITE_TOKEN_MAX_AGE"] = timedelta(days=7)
    set_pw = post_form(client, link, {"password": "new-coordinator-pass", "confirm":
                                      "new-coordinator-pass"})
    assert set_pw.status_code == 302
    assert client.get(link).status_code == 400  # used once, then it stops working
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "user.invited", AuditEvent.object_id == str(user_id)))


def test_previewing_an_account_email_does_not_hand_out_a_working_link(as_role, app, client,
                                                                     demo, mail_sink):
    post_form(client, "/forgot-password", {"email": demo["patient"]})
    with app.app_context():
        from booking.notifications.models import OutboxMessage

        message_id = db.session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.kind == "reset_password"))
    page = as_role("admin").get(f"/admin/outbox/{message_id}").get_data(as_text=True)
    assert "link-made-when-sent" in page and "/reset-password/" not in page
    # The patient's own email has a real link.
    assert first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/")
