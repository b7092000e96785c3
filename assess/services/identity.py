"""The NIP (Nomor Induk Pegawai): 18 digits that encode birth date, appointment and sex.

Layout (DOMAIN.md): birth date YYYYMMDD (8), appointment year and month YYYYMM (6),
sex 1 = male, 2 = female (1), serial (3).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

__all__ = ["NipError", "NipInfo", "parse_nip", "is_valid_nip", "make_nip"]

NIP_RE = re.compile(r"^\d{18}$")
MIN_BIRTH_YEAR = 1940
MIN_APPOINTMENT_AGE = 17  # ASN are appointed as adults


class NipError(ValueError):
    """A NIP that is not well formed; ``message`` is translated for the user."""

    def __init__(self, code: str, message) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NipInfo:
    nip: str
    birth_date: date
    appointment_year: int
    appointment_month: int
    sex: int  # 1 male, 2 female
    serial: int


def parse_nip(raw: str, *, today: date | None = None) -> NipInfo:
    """Validate a NIP and return what it encodes; raise :class:`NipError` naming the problem."""
    nip = (raw or "").strip().replace(" ", "")
    if not nip.isdigit():
        raise NipError("digits", _l("NIP must contain digits only."))
    if not NIP_RE.match(nip):
        raise NipError("length", _l("NIP must be exactly 18 digits (found %(n)d).", n=len(nip)))
    today = today or date.today()
    try:
        birth = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError:
        raise NipError("birth_date", _l("The birth date in the NIP (digits 1-8) is not a real date.")) from None
    if birth.year < MIN_BIRTH_YEAR or birth > today:
        raise NipError("birth_date", _l("The birth date in the NIP (digits 1-8) is out of range."))
    year, month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= month <= 12:
        raise NipError("appointment", _l("The appointment month in the NIP (digits 13-14) is not a month."))
    if (year, month) > (today.year, today.month) or year - birth.year < MIN_APPOINTMENT_AGE:
        raise NipError("appointment", _l("The appointment date in the NIP (digits 9-14) is not plausible."))
    sex = int(nip[14])
    if sex not in (1, 2):
        raise NipError("sex", _l("Digit 15 of the NIP must be 1 (male) or 2 (female)."))
    serial = int(nip[15:18])
    if serial == 0:
        raise NipError("serial", _l("The serial number in the NIP (digits 16-18) cannot be 000."))
    return NipInfo(nip, birth, year, month, sex, serial)


def is_valid_nip(raw: str) -> bool:
    try:
        parse_nip(raw)
    except NipError:
        return False
    return True


def make_nip(birth: date, appointment_year: int, appointment_month: int, sex: int, serial: int) -> str:
    """Build a NIP from its parts (demo data and tests)."""
    nip = f"{birth:%Y%m%d}{appointment_year:04d}{appointment_month:02d}{sex:d}{serial:03d}"
    parse_nip(nip)
    return nip
