"""The visa support letter PDF: real fonts, real shaping, a QR code an officer can scan.

Read back with poppler-utils (pdftotext, pdffonts, pdftoppm) and zbar-tools (zbarimg), Debian
packages that .ci/run installs. A missing tool fails the test, saying what to install.
"""

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from booking.travel import fonts
from booking.travel.pdf import (
    LetterConsultation,
    LetterContent,
    LetterPerson,
    MissingFont,
    render_letter,
)

URL = "https://spinebridge.example.com/v/SBV-2026-7K3M9Q?k=Yp3dQ8"


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: apt-get install {package} (.ci/run installs it)")
    return path


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _person(name: str, role: str, nationality: str, passport: str) -> LetterPerson:
    return LetterPerson(name, role, nationality, passport, date(2031, 5, 17))


def _content(**changes) -> LetterContent:
    content = LetterContent(
        number="SBV-2026-7K3M9Q",
        issued_on=date(2026, 11, 24),
        verify_url=URL,
        clinic_name="Sukhumvit Spine Clinic",
        clinic_address="88/12 Sukhumvit Soi 23, Khlong Toei Nuea\nWatthana, Bangkok 10110, "
        "Thailand",
        clinic_licence="Licensed medical clinic, Ministry of Public Health licence no. "
        "10110000165",
        clinic_phone="+66 2 123 4567",
        clinic_email="international@sukhumvit-spine.example.com",
        people=[
            _person("Zoë Ångström-Núñez", "Patient", "Sweden", "AA1234567"),
            _person("สมชาย ใจดี", "Companion (spouse)", "Thailand", "TH7654321"),
            _person("王小明", "Companion (friend)", "China", "E98765432"),
            _person("محمد بن سلمان", "Companion (brother)", "Saudi Arabia", "SA0011223"),
        ],
        consultations=[
            LetterConsultation(datetime(2027, 3, 3, 3, 0, tzinfo=UTC),
                               "Spine consultation with Dr. Somchai Rattanakul"),
            LetterConsultation(datetime(2027, 3, 5, 7, 30, tzinfo=UTC),
                               "Follow-up consultation with Dr. Somchai Rattanakul"),
        ],
        arrival=date(2027, 3, 1),
        departure=date(2027, 3, 15),
        signatory="Kanya Srisuk, International Patient Coordinator",
    )
    return replace(content, **changes)


@pytest.fixture(scope="module")
def letter_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("letter") / "letter.pdf"
    path.write_bytes(render_letter(_content()))
    return path


def _text(pdf: Path) -> str:
    return _run(_tool("pdftotext", "poppler-utils"), "-layout", str(pdf), "-")


def _pages(pdf: Path) -> int:
    info = _run(_tool("pdfinfo", "poppler-utils"), str(pdf))
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def test_letter_is_a_one_page_pdf(letter_pdf):
    assert letter_pdf.read_bytes().startswith(b"%PDF-")
    assert _pages(letter_pdf) == 1


def test_every_font_is_embedded_including_thai_arabic_and_cjk(letter_pdf):
    listing = _run(_tool("pdffonts", "poppler-utils"), str(letter_pdf)).splitlines()[2:]
    assert listing
    names = set()
    for line in listing:
        cols = line.split()
        # name … emb sub uni object-id generation
        assert cols[-5] == "yes", f"font not embedded: {line}"
        assert cols[-3] == "yes", f"font without a ToUnicode map: {line}"
        names.add(cols[0].split("+")[-1])
    assert {"NotoSans", "NotoSansThai", "NotoSansArabic", "NotoSansCJKSC"} <= names


def test_text_names_the_travellers_number_passports_and_verify_url(letter_pdf):
    text = _text(letter_pdf)
    for wanted in ("Zoë Ångström-Núñez", "王小明", "สมชาย ใจดี", "SBV-2026-7K3M9Q", "AA1234567",
                   "TH7654321", "E98765432", "SA0011223", URL, "Royal Thai Embassy",
                   "3 March 2027", "10:00", "14:30", "15 days", "Kanya Srisuk"):
        assert wanted in text, wanted


def test_letter_says_nothing_medical_it_was_not_given(letter_pdf):
    text = _text(letter_pdf).lower()
    for word in ("stem cell", "diagnosis", "mesenchymal", "uc-msc", "treatment", "condition"):
        assert word not in text, word
    assert "medical consultation" in text


def test_qr_code_decodes_to_the_verify_url(letter_pdf, tmp_path):
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    zbarimg = _tool("zbarimg", "zbar-tools")
    subprocess.run([pdftoppm, "-png", "-r", "150", "-f", "1", "-l", "1", str(letter_pdf),
                    str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    decoded = _run(zbarimg, "--raw", "-q", str(png)).strip()
    assert decoded == URL
    # The printed address sits beside the code, not over it (the QR is 20-53 mm from the left).
    url_words = [w for w in _word_boxes(letter_pdf)[1] if w[4].startswith("https://")]
    assert url_words and all(x0 > 53 * 72 / 25.4 for x0, *_ in url_words)


def test_name_in_a_script_no_font_covers_raises_missing_font():
    people = [_person("𓀀 Ankh", "Patient", "Egypt", "EG1")]
    with pytest.raises(MissingFont, match=r"U\+13000"):
        render_letter(_content(people=people))


def test_missing_cjk_font_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(fonts, "CJK_DIRS", (tmp_path,))
    with pytest.raises(MissingFont, match="fonts-noto-cjk"):
        render_letter(_content())
    # A letter with no CJK in it does not need the package.
    latin_only = _content(people=[_person("Zoë Ångström-Núñez", "Patient", "Sweden", "AA1")])
    assert render_letter(latin_only).startswith(b"%PDF-")


def _word_boxes(pdf: Path) -> dict[int, list[tuple[float, float, float, float, str]]]:
    html = _run(_tool("pdftotext", "poppler-utils"), "-bbox", str(pdf), "-")
    pages: dict[int, list] = {}
    for number, page in enumerate(re.findall(r"<page .*?</page>", html, re.S), start=1):
        pages[number] = [
            (float(a), float(b), float(c), float(d), word)
            for a, b, c, d, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                r"(.*?)</word>", page)
        ]
    return pages


def test_five_people_and_eight_consultations_flow_onto_a_second_page_without_overlap(tmp_path):
    people = _content().people + [_person("Иван Петров", "Companion (friend)", "Ukraine",
                                          "UA5550001")]
    consultations = [
        LetterConsultation(datetime(2027, 3, day, 2, 0, tzinfo=UTC),
                           f"Consultation {day} with Dr. Somchai Rattanakul")
        for day in range(2, 10)
    ]
    path = tmp_path / "long.pdf"
    path.write_bytes(render_letter(_content(people=people, consultations=consultations)))
    assert _pages(path) == 2
    text = _text(path)
    for wanted in ("Иван Петров", "Consultation 9 with", URL, "Kanya Srisuk", "page 2 of 2"):
        assert wanted in text, wanted

    a4_height = 841.89
    for page, words in _word_boxes(path).items():
        assert words, f"page {page} is empty"
        for i, (x0, y0, x1, y1, word) in enumerate(words):
            assert y1 <= a4_height - 20, f"{word!r} runs off page {page}"
            for ox0, oy0, ox1, oy1, other in words[i + 1:]:
                overlap_x = min(x1, ox1) - max(x0, ox0)
                overlap_y = min(y1, oy1) - max(y0, oy0)
                assert overlap_x <= 0.5 or overlap_y <= 0.5, (
                    f"{word!r} overlaps {other!r} on page {page}")
