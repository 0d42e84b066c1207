"""Public catalogue pages: evidence and status shown plainly, prices in THB and the visitor's
currency, languages and right-to-left layout."""

from __future__ import annotations

from decimal import Decimal

import pytest

from booking import create_app
from booking.core.money import Money
from tests.conftest import make_config


def test_treatment_page_shows_evidence_status_and_who_is_not_a_candidate(client, demo):
    html = client.get("/treatments/uc-msc-intradiscal-injection").get_data(as_text=True)
    assert "Evidence and regulatory status" in html
    assert "Approved research protocol" in html
    assert "no large randomised trials" in html
    assert "Not approved as a standard treatment" in html
    assert "Who is not a candidate" in html and "cancer now or in the past" in html
    assert "THB\u00a0450,000" in html and "THB\u00a0850,000" in html


def test_every_listed_treatment_carries_a_status_badge(client, demo):
    html = client.get("/treatments").get_data(as_text=True)
    for label in ["Standard care", "Approved research protocol", "Investigational"]:
        assert f">{label}</span>" in html
    assert "still investigational in most countries" in html


def test_home_conditions_and_clinics_list_the_demo_catalogue(client, demo):
    home = client.get("/").get_data(as_text=True)
    for text in ["Degenerative disc disease", "Herniated disc and annular tear",
                 "UC-MSC intradiscal injection", "Sukhumvit Spine"]:
        assert text in home
    condition = client.get("/conditions/herniated-disc-annular-tear").get_data(as_text=True)
    assert "UC-MSC intradiscal injection" in condition
    clinic = client.get("/clinics/sukhumvit-spine").get_data(as_text=True)
    assert "Dr. Anan Srisuk" in clinic and "Video consultation" in clinic
    assert "THB\u00a01,500.00" in clinic and "Asia/Bangkok" in clinic


def test_unknown_slug_is_404(client, demo):
    assert client.get("/treatments/snake-oil").status_code == 404
    assert client.get("/clinics/nowhere").status_code == 404


def test_prices_also_shown_in_the_chosen_currency(client, demo):
    response = client.get("/currency/USD?next=/treatments/uc-msc-intradiscal-injection")
    assert response.status_code == 302
    assert response.headers["Location"] == "/treatments/uc-msc-intradiscal-injection"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    # 450,000 THB x 0.0290 = 13,050 USD; 850,000 x 0.0290 = 24,650 USD (demo rates)
    assert "about $13,050 – $24,650" in html
    assert "THB\u00a0450,000" in html


def test_currency_switch_rejects_unknown_codes_and_foreign_redirects(client, demo):
    assert client.get("/currency/XYZ").status_code == 404
    response = client.get("/currency/EUR?next=//evil.example/")
    assert response.headers["Location"] == "/"


def test_money_converts_with_integer_minor_units():
    thb = Money(450_000_00, "THB")
    assert thb.convert("USD", Decimal("0.0290")) == Money(13_050_00, "USD")
    assert thb.convert("JPY", Decimal("4.35")) == Money(1_957_500, "JPY")  # yen has no minor unit
    assert Money(1_500_00, "THB").format("en") == "THB\u00a01,500.00"


def test_thai_interface_from_switcher_and_accept_language(app, demo):
    client = app.test_client()
    html = client.get("/", headers={"Accept-Language": "th-TH,th;q=0.9"}).get_data(as_text=True)
    assert 'lang="th"' in html and "คลินิก" in html
    client = app.test_client()
    client.get("/language/th?next=/clinics")
    html = client.get("/clinics").get_data(as_text=True)
    assert 'lang="th"' in html and "เข้าสู่ระบบ" in html
    login_page = client.get("/login").get_data(as_text=True)
    assert "Sign in" not in login_page.split("<main")[1]


def test_right_to_left_locale_flips_the_layout(tmp_path, app):
    rtl_app = create_app(make_config(
        str(tmp_path), SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        LANGUAGES={"en": "English", "th": "ไทย", "ar": "العربية"}))
    client = rtl_app.test_client()
    html = client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'dir="rtl"' in html and "bootstrap.rtl.min.css" in html
    ltr = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'dir="ltr"' in ltr and "bootstrap.min.css" in ltr


@pytest.mark.parametrize(("header", "lang"), [
    ("en;q=0.1, th;q=0.9", "th"), ("th;q=0.2, en-GB;q=0.8", "en"), ("de-DE, fr", "en"),
    ("TH", "th"), ("", "en"), ("*;q=0.5, th;q=0.1", "en")])
def test_the_browsers_languages_are_weighed_by_their_q_values(client, header, lang):
    """core.i18n._best_language keeps werkzeug's answer per header text, not the first one."""
    for _ in range(2):
        html = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
        assert f'lang="{lang}"' in html, header


def test_a_huge_accept_language_is_weighed_but_not_kept(client):
    from booking.core.i18n import _best_language

    kept = _best_language.cache_info().currsize
    huge = "th;q=0.9, " + ", ".join(f"x{n};q=0.1" for n in range(10_000))  # ~100 KB
    page = client.get("/", headers={"Accept-Language": huge})
    assert page.status_code == 200 and 'lang="th"' in page.text
    assert _best_language.cache_info().currsize == kept


@pytest.mark.parametrize("path", ["/static/vendor/bootstrap/css/bootstrap.min.css",
                                  "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
                                  "/static/css/app.css", "/static/js/app.js"])
def test_assets_are_served_locally(client, path):
    assert client.get(path).status_code == 200


def test_pages_load_nothing_from_other_hosts(client, demo):
    import re

    for path in ["/", "/treatments", "/clinics/sukhumvit-spine", "/register"]:
        html = client.get(path).get_data(as_text=True)
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
        assert external == [], (path, external)


@pytest.mark.parametrize("prefix", ["/clinics/", "/treatments/", "/conditions/"])
@pytest.mark.parametrize("slug, status", [("x" * 5000, 404), ("клиника", 404), ("a%00b", 400),
                                          ("%F0%9F%92%A5", 404), ("A-B", 404), ("a%20b", 404)])
def test_odd_catalogue_slugs_are_not_found_or_refused_never_500(client, demo, prefix, slug,
                                                                status):
    assert client.get(prefix + slug).status_code == status
