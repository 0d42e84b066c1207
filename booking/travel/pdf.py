"""The visa support letter as a PDF: pure rendering of content the travel services built.

In English (the embassy's language) on the clinic's letterhead. It states appointments, dates and
who travels, and nothing medical: no condition, treatment or diagnosis, only "medical
consultation". A QR code and the printed address let a consular officer check online that the
letter is genuine and not revoked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

import segno
from babel.dates import format_date, format_time
from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos

from booking.core.zones import CLINIC_ZONE
from booking.travel.fonts import MAIN, MissingFont, install_fonts

__all__ = [
    "LetterConsultation",
    "LetterContent",
    "LetterPerson",
    "MissingFont",
    "render_letter",
]


@dataclass(frozen=True)
class LetterPerson:
    name: str  #: any script: Latin, Thai, Chinese, Arabic, Cyrillic, Devanagari...
    role: str  #: already translated text, e.g. "Patient", "Companion (spouse)"
    nationality: str  #: country name, already localised, e.g. "United States"
    passport_number: str  #: full number (the letter is for an embassy)
    passport_expiry: date | None


@dataclass(frozen=True)
class LetterConsultation:
    starts_at: datetime  #: aware, UTC; printed in Asia/Bangkok time
    description: str  #: e.g. "Spine consultation with Dr. Somchai Rattanakul"


@dataclass(frozen=True)
class LetterContent:
    number: str  #: unique letter number, e.g. "SBV-2026-7K3M9Q"
    issued_on: date
    verify_url: str  #: https URL an embassy officer opens; printed AND encoded as a QR code
    clinic_name: str
    clinic_address: str  #: multi-line allowed
    clinic_licence: str  #: licence / accreditation text, may be empty
    clinic_phone: str
    clinic_email: str
    people: list[LetterPerson]  #: the patient first, then up to 4 companions
    consultations: list[LetterConsultation]
    arrival: date | None
    departure: date | None
    signatory: str  #: e.g. "Kanya Srisuk, International Patient Coordinator"


FONT = MAIN.family
INK = (33, 37, 41)
MUTED = (96, 103, 110)
ACCENT = (17, 84, 96)  # the letterhead's teal
RULE = (200, 206, 210)
SHADE = (236, 242, 243)
LOCALE = "en_GB"  # "3 March 2027": day first, unambiguous to every consulate


def _day(d: date) -> str:
    return format_date(d, "d MMMM y", locale=LOCALE)


def _bangkok(starts_at: datetime) -> datetime:
    # SQLite hands columns back naive; they hold UTC.
    aware = starts_at if starts_at.tzinfo else starts_at.replace(tzinfo=UTC)
    return aware.astimezone(CLINIC_ZONE)


def _stay_days(arrival: date, departure: date) -> int:
    # Thai immigration counts the day of arrival as day one, so the count includes both ends.
    return (departure - arrival).days + 1


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


class _LetterPDF(FPDF):
    def __init__(self, content: LetterContent) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.content = content
        self.set_margins(20, 16, 20)
        self.set_auto_page_break(True, margin=20)
        self.alias_nb_pages()

    def header(self) -> None:
        if self.page_no() == 1:
            return  # the letterhead is drawn by the body on page one
        c = self.content
        self.set_font(FONT, "B", 9)
        self.set_text_color(*ACCENT)
        self.cell(0, 5, c.clinic_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FONT, "", 8.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4.5, f"Visa support letter {c.number} (continued)",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._rule(ACCENT, 0.4)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        # Left-aligned: a right-aligned "{nb}" is measured before it is replaced, so it drifts.
        self.cell(0, 4, f"Visa support letter {self.content.number}  ·  page {self.page_no()} "
                  "of {nb}", align="L")

    def _rule(self, color: tuple[int, int, int], width: float) -> None:
        self.set_draw_color(*color)
        self.set_line_width(width)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())

    def para(self, text: str, size: float = 10, style: str = "", gap: float = 2,
             color: tuple[int, int, int] = INK) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(gap)

    def heading(self, text: str) -> None:
        # Keep a heading with at least a few lines of what follows it.
        if self.will_page_break(22):
            self.add_page()
        self.set_font(FONT, "B", 10)
        self.set_text_color(*ACCENT)
        self.cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.5)


def _letterhead(pdf: _LetterPDF, c: LetterContent) -> None:
    pdf.set_font(FONT, "B", 19)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 8.5, c.clinic_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    pdf.set_text_color(*MUTED)
    lines = [line.strip() for line in c.clinic_address.splitlines() if line.strip()]
    if c.clinic_licence.strip():
        lines.append(c.clinic_licence.strip())
    contact = "  ·  ".join(p for p in (f"Tel. {c.clinic_phone}" if c.clinic_phone else "",
                                      c.clinic_email) if p)
    if contact:
        lines.append(contact)
    for line in lines:
        pdf.multi_cell(0, 4, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf._rule(ACCENT, 0.6)
    pdf.ln(4)


def _reference(pdf: _LetterPDF, c: LetterContent) -> None:
    y = pdf.get_y()
    pdf.set_font(FONT, "", 10)
    pdf.set_text_color(*INK)
    pdf.cell(0, 5, "To the Consular Officer", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 5, "Royal Thai Embassy / Consulate", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    after = pdf.get_y()
    pdf.set_xy(pdf.l_margin, y)
    pdf.cell(0, 5, f"Letter no. {c.number}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 5, f"Date: {_day(c.issued_on)}", align="R", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
    pdf.set_y(max(after, pdf.get_y()))
    pdf.ln(4)


def _body(pdf: _LetterPDF, c: LetterContent) -> None:
    patient, companions = c.people[0], c.people[1:]
    n = len(c.consultations)
    pdf.para("Subject: Confirmation of medical consultation appointments for visa purposes"
             if n != 1 else
             "Subject: Confirmation of a medical consultation appointment for visa purposes",
             style="B", gap=2.5)
    pdf.para("Dear Sir or Madam,")
    dates = _plural(n, "on the date listed below", "on the dates listed below")
    appointments = _plural(n, "a medical consultation appointment",
                           f"{n} medical consultation appointments")
    pdf.para(f"{c.clinic_name} confirms that {patient.name}, a national of "
             f"{patient.nationality} holding passport no. {patient.passport_number}, has "
             f"{appointments} at our clinic in Bangkok, Thailand, {dates} "
             "(Bangkok time, UTC+7).")
    stay = []
    if c.arrival and c.departure:
        days = _stay_days(c.arrival, c.departure)
        stay.append(f"The patient plans to arrive in Thailand on {_day(c.arrival)} and to "
                    f"depart on {_day(c.departure)}, an expected stay of {days} "
                    f"{_plural(days, 'day', 'days')} (the days of arrival and departure "
                    "included).")
    elif c.arrival:
        stay.append(f"The patient plans to arrive in Thailand on {_day(c.arrival)}.")
    elif c.departure:
        stay.append(f"The patient plans to depart from Thailand on {_day(c.departure)}.")
    if companions:
        stay.append(
            f"The {_plural(len(companions), 'companion', f'{len(companions)} companions')} "
            "named below will accompany the patient for the stay.")
    if stay:
        pdf.para(" ".join(stay))
    pdf.para("This letter confirms appointments only. It makes no statement about the "
             "patient's health, which remains confidential between the patient and the "
             "clinic. We would be grateful for your assistance in issuing the appropriate "
             "visa.")


def _people(pdf: _LetterPDF, c: LetterContent) -> None:
    pdf.heading(_plural(len(c.people), "Traveller", "Travellers"))
    _table(pdf, ("Name", "Role", "Nationality", "Passport no.", "Passport expiry"),
           [(p.name, p.role, p.nationality, p.passport_number,
             _day(p.passport_expiry) if p.passport_expiry else "—") for p in c.people],
           (0.28, 0.22, 0.16, 0.15, 0.19))


def _consultations(pdf: _LetterPDF, c: LetterContent) -> None:
    pdf.heading("Medical consultation " + _plural(len(c.consultations), "appointment",
                                                  "appointments") + " (Bangkok time, UTC+7)")
    rows = []
    for item in sorted(c.consultations, key=lambda i: _bangkok(i.starts_at)):
        local = _bangkok(item.starts_at)
        rows.append((format_date(local, "EEE d MMMM y", locale=LOCALE),
                     format_time(local, "HH:mm", locale=LOCALE), item.description))
    _table(pdf, ("Date", "Time", "Appointment"), rows, (0.27, 0.10, 0.63))


def _table(pdf: _LetterPDF, headings: tuple[str, ...], rows: list[tuple[str, ...]],
           widths: tuple[float, ...]) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=widths, text_align="LEFT", line_height=4.6, padding=(1, 2),
        borders_layout=TableBordersLayout.HORIZONTAL_LINES, v_align="TOP",
        headings_style=FontFace(emphasis="BOLD", color=ACCENT, fill_color=SHADE, size_pt=9),
        repeat_headings=1,
    ) as table:
        table.row(headings)
        for values in rows:
            table.row(values)
    pdf.ln(2.5)


def _qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=8, border=4)
    out.seek(0)
    return out


def _verification(pdf: _LetterPDF, c: LetterContent) -> None:
    qr, pad = 27.0, 2.5
    box_h = qr + 2 * pad
    if pdf.will_page_break(box_h + 2):
        pdf.add_page()
    pdf.ln(1)
    x, y, w = pdf.l_margin, pdf.get_y(), pdf.epw
    pdf.set_fill_color(*SHADE)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.rect(x, y, w, box_h, style="DF")
    pdf.image(_qr_png(c.verify_url), x=x + pad, y=y + pad, w=qr, h=qr,
              alt_text=f"QR code: {c.verify_url}")
    text_x = x + pad + qr + 6
    inner = x + w - 4 - text_x
    pdf.set_xy(text_x, y + 4)
    pdf.set_font(FONT, "B", 10)
    pdf.set_text_color(*ACCENT)
    pdf.cell(inner, 5.5, "Verify this letter", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*INK)
    pdf.multi_cell(inner, 4.5, "Scan the code, or open the address below, to check that this "
                   f"letter ({c.number}) is genuine and has not been revoked:", align="L",
                   new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(text_x, pdf.get_y() + 1.5)
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(inner, 4.5, c.verify_url, link=c.verify_url, align="L", new_x=XPos.LEFT,
                   new_y=YPos.NEXT)
    pdf.set_xy(x, y + box_h)
    pdf.ln(5)


def _signature(pdf: _LetterPDF, c: LetterContent) -> None:
    if pdf.will_page_break(26):
        pdf.add_page()
    pdf.para("Yours faithfully,", gap=9)
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.3)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 70, pdf.get_y())
    pdf.ln(1.5)
    pdf.para(c.signatory, size=10, gap=0)
    pdf.para(f"for {c.clinic_name}", size=10, color=MUTED, gap=0)


def render_letter(content: LetterContent) -> bytes:
    """The letter as PDF bytes."""
    if not content.people:
        raise ValueError("a visa support letter names at least the patient")
    pdf = _LetterPDF(content)
    install_fonts(pdf, _printed_texts(content))
    pdf.set_text_shaping(True)
    pdf.set_title(f"Visa support letter {content.number}")
    pdf.set_author(content.clinic_name)
    pdf.set_lang("en")
    pdf.set_creation_date(datetime.combine(content.issued_on, datetime.min.time(), UTC))
    pdf.add_page()
    _letterhead(pdf, content)
    _reference(pdf, content)
    _body(pdf, content)
    _people(pdf, content)
    if content.consultations:
        _consultations(pdf, content)
    _verification(pdf, content)
    _signature(pdf, content)
    data = bytes(pdf.output())
    _check_no_missing_glyphs(pdf)
    return data


def _printed_texts(c: LetterContent) -> list[str]:
    texts = [c.number, c.verify_url, c.clinic_name, c.clinic_address, c.clinic_licence,
             c.clinic_phone, c.clinic_email, c.signatory]
    for p in c.people:
        texts += [p.name, p.role, p.nationality, p.passport_number]
    texts += [item.description for item in c.consultations]
    return texts


def _check_no_missing_glyphs(pdf: FPDF) -> None:
    # The cmap check ran first; this catches a glyph fpdf2 still could not find (belt and braces).
    for key, font in pdf.fonts.items():
        missing = getattr(font, "missing_glyphs", None)
        if missing:
            chars = ", ".join(f"U+{code:04X}" for code in sorted(missing)[:10])
            raise MissingFont(f"font {key} had no glyph for {chars}")
