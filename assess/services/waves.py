"""Waves: the assessment window, its targets, enrolment, monitoring and attempt interventions.

- Times are entered and shown in the wave's own zone (WIB, WITA, WIT) and stored in UTC.
- Enrolment is by rule (:func:`assess.services.delivery.enroll_by_rule`) or by a CSV/XLSX file
  of NIPs, validated completely before anything is written: one bad row and nothing changes,
  and the report names every bad row, its column and the reason.
- An admin can give an in-progress attempt more time, or reopen an expired or submitted one;
  both write an attempt event and an audit row.

Services flush; the caller commits.
"""
from __future__ import annotations

import copy
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Optional
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from assess.extensions import db
from assess.models import (
    Agency, Attempt, AttemptEvent, Enrollment, Score, TestSpec, Unit, User, Wave, utcnow,
)
from assess.models.delivery import TIMEZONES
from assess.services import audit, delivery
from assess.services.identity import NipError, parse_nip

__all__ = [
    "EnrolmentFileError", "EnrolResult", "RowProblem", "WaveError", "WaveInput", "agency_counts",
    "create_wave", "enroll_file", "enroll_rule", "extend_attempt", "local_to_utc", "parse_enrolment_file",
    "participants_query", "reopen_attempt", "set_extra_minutes", "stuck_query", "update_wave", "utc_to_local",
]

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MAX_UPLOAD_BYTES = 2 * 1024 * 1024          # an upload of 100,000 NIPs is about 2 MB of CSV
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024       # an XLSX that inflates beyond this is refused
MAX_EXTRA_MINUTES = 600
MAX_INTERVENTION_MINUTES = 600
STUCK_MINUTES = 10


class WaveError(Exception):
    """A refused change: ``problems`` maps a form field (or None) to a translated message."""

    def __init__(self, message, field_name: Optional[str] = None, problems: Optional[list] = None):
        super().__init__(message)
        self.message = message
        self.problems = problems if problems is not None else [(field_name, message)]

    def __str__(self) -> str:  # translated when shown, not when raised
        return str(self.message)


# ----------------------------------------------------------------------------------- time zones
def local_to_utc(value: datetime, zone: str) -> datetime:
    """A wall-clock time entered in ``zone`` (naive) as an aware UTC datetime."""
    if zone not in TIMEZONES:
        raise WaveError(_l("Choose WIB, WITA or WIT."), "timezone")
    return value.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def utc_to_local(value: datetime, zone: str) -> datetime:
    """A stored UTC datetime as the naive wall-clock time in ``zone`` (to fill a form)."""
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


# ----------------------------------------------------------------------------------- waves
@dataclass
class WaveInput:
    code: str
    name: str
    spec_id: Optional[int]
    opens_local: Optional[datetime]
    closes_local: Optional[datetime]
    timezone: str = "Asia/Jakarta"
    cluster: Optional[int] = None
    agency_ids: list[int] = field(default_factory=list)
    unit_ids: list[int] = field(default_factory=list)
    show_scores: bool = False


def has_attempts(wave: Wave) -> bool:
    return bool(db.session.scalar(select(exists().where(Attempt.wave_id == wave.id))))


def _check(data: WaveInput, wave: Optional[Wave]) -> tuple[list, Optional[datetime], Optional[datetime]]:
    problems: list = []
    code = (data.code or "").strip()
    if not CODE_RE.match(code):
        problems.append(("code", _l("Use 1 to 40 letters, digits, dots, dashes or underscores.")))
    else:
        taken = db.session.scalar(select(Wave.id).where(func.lower(Wave.code) == code.lower()))
        if taken is not None and (wave is None or taken != wave.id):
            problems.append(("code", _l("This code is already used by another wave.")))
    if not (data.name or "").strip():
        problems.append(("name", _l("Give the wave a name.")))
    spec = db.session.get(TestSpec, data.spec_id) if data.spec_id else None
    changing_spec = wave is None or wave.spec_id != data.spec_id
    if spec is None:
        problems.append(("spec_id", _l("Choose a test specification.")))
    elif changing_spec and not spec.is_active:
        problems.append(("spec_id", _l("Only an active test specification can be used; validate and activate it first.")))
    elif wave is not None and changing_spec and has_attempts(wave):
        problems.append(("spec_id", _l("Participants have already started this wave: its test can no longer be changed.")))
    opens = closes = None
    if data.timezone not in TIMEZONES:
        problems.append(("timezone", _l("Choose WIB, WITA or WIT.")))
    else:
        if data.opens_local is None:
            problems.append(("opens_at", _l("Enter when the wave opens.")))
        else:
            opens = local_to_utc(data.opens_local, data.timezone)
        if data.closes_local is None:
            problems.append(("closes_at", _l("Enter when the wave closes.")))
        else:
            closes = local_to_utc(data.closes_local, data.timezone)
        if opens and closes and closes <= opens:
            problems.append(("closes_at", _l("The wave must close after it opens.")))
    if data.cluster is not None and not 1 <= data.cluster <= 5:
        problems.append(("cluster", _l("The cluster is a number from 1 to 5.")))
    agencies = {a.id: a for a in db.session.execute(
        select(Agency).where(Agency.id.in_(data.agency_ids or [-1]))).scalars()}
    if set(data.agency_ids) - set(agencies):
        problems.append(("agency_ids", _l("An agency chosen does not exist.")))
    units = {u.id: u for u in db.session.execute(
        select(Unit).options(joinedload(Unit.agency)).where(Unit.id.in_(data.unit_ids or [-1]))).scalars()}
    if set(data.unit_ids) - set(units):
        problems.append(("unit_ids", _l("A unit chosen does not exist.")))
    if data.cluster is not None:
        wrong = sorted(a.code for a in agencies.values() if a.cluster != data.cluster)
        if wrong:
            problems.append(("agency_ids", _l("Not in cluster %(cluster)d: %(codes)s", cluster=data.cluster,
                                              codes=", ".join(wrong))))
        wrong = sorted(f"{u.agency.code}/{u.code}" for u in units.values() if u.effective_cluster != data.cluster)
        if wrong:
            problems.append(("unit_ids", _l("Not in cluster %(cluster)d: %(codes)s", cluster=data.cluster,
                                            codes=", ".join(wrong))))
    return problems, opens, closes


def _apply(wave: Wave, data: WaveInput, opens: datetime, closes: datetime) -> None:
    wave.code = data.code.strip()
    wave.name = data.name.strip()
    wave.spec_id = data.spec_id
    wave.timezone = data.timezone
    wave.opens_at = opens
    wave.closes_at = closes
    wave.cluster = data.cluster
    wave.show_scores = bool(data.show_scores)
    targets: dict[str, list[int]] = {}
    if data.agency_ids:
        targets["agency_ids"] = sorted(set(data.agency_ids))
    if data.unit_ids:
        targets["unit_ids"] = sorted(set(data.unit_ids))
    wave.targets = targets


def create_wave(data: WaveInput) -> Wave:
    problems, opens, closes = _check(data, None)
    if problems:
        raise WaveError(problems[0][1], problems=problems)
    wave = Wave()
    _apply(wave, data, opens, closes)
    db.session.add(wave)
    db.session.flush()
    return wave


def update_wave(wave: Wave, data: WaveInput) -> Wave:
    """Change a wave; its test cannot change once participants have started."""
    problems, opens, closes = _check(data, wave)
    if problems:
        raise WaveError(problems[0][1], problems=problems)
    _apply(wave, data, opens, closes)
    db.session.flush()
    return wave


def input_of(wave: Wave) -> WaveInput:
    targets = wave.targets or {}
    return WaveInput(code=wave.code, name=wave.name, spec_id=wave.spec_id,
                     opens_local=utc_to_local(wave.opens_at, wave.timezone),
                     closes_local=utc_to_local(wave.closes_at, wave.timezone), timezone=wave.timezone,
                     cluster=wave.cluster, agency_ids=list(targets.get("agency_ids") or []),
                     unit_ids=list(targets.get("unit_ids") or []), show_scores=wave.show_scores)


def target_labels(wave: Wave) -> dict[str, list[str]]:
    """Codes of the agencies and units a wave targets (for display)."""
    targets = wave.targets or {}
    agencies = list(db.session.execute(select(Agency.code).where(
        Agency.id.in_(targets.get("agency_ids") or [-1])).order_by(Agency.code)).scalars())
    units = [f"{a}/{u}" for a, u in db.session.execute(
        select(Agency.code, Unit.code).join(Agency, Unit.agency_id == Agency.id)
        .where(Unit.id.in_(targets.get("unit_ids") or [-1])).order_by(Agency.code, Unit.code)).all()]
    return {"agencies": agencies, "units": units}


# ----------------------------------------------------------------------------------- enrolment
@dataclass(frozen=True)
class RowProblem:
    """One bad row of an enrolment file: its row number (1 = the header), column and reason."""

    row: Optional[int]
    column: Optional[str]
    message: Any  # a lazy string: rendered in the reader's language

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(str(_l("row %(n)d", n=self.row)))
        if self.column:
            where.append(str(_l("column %(name)s", name=self.column)))
        return f"{', '.join(where)}: {self.message}" if where else str(self.message)


class EnrolmentFileError(Exception):
    """The file was refused; ``problems`` lists every bad row. Nothing was written."""

    def __init__(self, problems: list[RowProblem]):
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:  # translated when shown, not when raised
        return "; ".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class EnrolRow:
    row: int
    nip: str
    extra_minutes: Optional[int]  # None: the file does not set it
    user_id: int = 0


@dataclass
class EnrolResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


def _cells_csv(data: bytes) -> Iterator[tuple[int, list[tuple[Any, bool]]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise EnrolmentFileError([RowProblem(None, None, _l("The file is not a CSV or XLSX spreadsheet."))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EnrolmentFileError([RowProblem(None, None, _l(
            "The CSV file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again."))]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            yield number, [(value, False) for value in row]
    except csv.Error as error:
        raise EnrolmentFileError([RowProblem(reader.line_num, None, _l(
            "The CSV file cannot be read: %(error)s", error=str(error)))]) from None


def _cells_xlsx(data: bytes) -> Iterator[tuple[int, list[tuple[Any, bool]]]]:
    not_sheet = EnrolmentFileError([RowProblem(None, None, _l("The file is not a CSV or XLSX spreadsheet."))])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise EnrolmentFileError([RowProblem(None, None, _l("The file is too large."))])
    except zipfile.BadZipFile:
        raise not_sheet from None
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on a damaged or foreign file
        raise not_sheet from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(), start=1):
            cells = []
            for cell in row:
                number = getattr(cell, "row", None) or number
                cells.append((cell.value, getattr(cell, "data_type", None) == "f"))
            yield number, cells
    finally:
        workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _int_minutes(value: Any) -> Optional[int]:
    """A non-negative whole number of minutes, or None when the value is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    text = _text(value)
    if re.fullmatch(r"\d{1,6}", text):
        return int(text)
    return None


def parse_enrolment_file(filename: str, data: bytes) -> list[EnrolRow]:
    """Read and check an enrolment file; raise :class:`EnrolmentFileError` listing every bad row.

    Columns: ``nip`` (required) and ``extra_minutes`` (optional; empty means no change), header in
    the first row, any other column is ignored. CSV: UTF-8 with or without BOM, comma or semicolon.
    XLSX: the first sheet; formula cells are refused and so are NIPs stored as numbers
    (spreadsheets round numbers after 15 digits).
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise EnrolmentFileError([RowProblem(None, None, _l(
            "The file is larger than %(mb)d MB; split it into several files.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))])
    name = (filename or "").lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        rows = _cells_xlsx(data)
    elif name.endswith(".csv") or name.endswith(".txt"):
        rows = _cells_csv(data)
    else:
        raise EnrolmentFileError([RowProblem(None, None, _l("The file is not a CSV or XLSX spreadsheet."))])

    problems: list[RowProblem] = []
    parsed: list[EnrolRow] = []
    header: Optional[dict[str, int]] = None
    first_row_of: dict[str, int] = {}
    for number, cells in rows:
        if all(_text(v) == "" for v, _f in cells):
            continue
        if header is None:
            names = [_text(v).lower().lstrip("\ufeff") for v, _f in cells]
            if "nip" not in names:
                raise EnrolmentFileError([RowProblem(number, None, _l(
                    "The first row must name the columns: nip and, optionally, extra_minutes."))])
            header = {n: i for i, n in reversed(list(enumerate(names))) if n}
            continue
        nip_value, nip_formula = cells[header["nip"]] if header["nip"] < len(cells) else (None, False)
        row_problems: list[RowProblem] = []
        nip = ""
        if nip_formula:
            row_problems.append(RowProblem(number, "nip", _l("Formulas are not allowed; enter the value itself.")))
        elif isinstance(nip_value, (int, float)) and not isinstance(nip_value, bool):
            row_problems.append(RowProblem(number, "nip", _l(
                "The NIP is stored as a number, which spreadsheets round after 15 digits; format the column as text.")))
        else:
            nip = _text(nip_value).lstrip("'")
            if not nip:
                row_problems.append(RowProblem(number, "nip", _l("The NIP is empty.")))
            else:
                try:
                    nip = parse_nip(nip).nip
                except NipError as error:
                    row_problems.append(RowProblem(number, "nip", error.message))
                    nip = ""
                else:
                    if nip in first_row_of:
                        row_problems.append(RowProblem(number, "nip", _l(
                            "This NIP is already in row %(row)d.", row=first_row_of[nip])))
                    else:
                        first_row_of[nip] = number
        extra: Optional[int] = None
        if "extra_minutes" in header and header["extra_minutes"] < len(cells):
            value, formula = cells[header["extra_minutes"]]
            if formula:
                row_problems.append(RowProblem(number, "extra_minutes", _l(
                    "Formulas are not allowed; enter the value itself.")))
            elif _text(value) != "":
                extra = _int_minutes(value)
                if extra is None:
                    row_problems.append(RowProblem(number, "extra_minutes", _l(
                        "Extra minutes must be a whole number of 0 or more.")))
                elif extra > MAX_EXTRA_MINUTES:
                    row_problems.append(RowProblem(number, "extra_minutes", _l(
                        "Extra minutes cannot be more than %(max)d.", max=MAX_EXTRA_MINUTES)))
                    extra = None
        problems += row_problems
        if not row_problems:
            parsed.append(EnrolRow(number, nip, extra))
    if header is None:
        raise EnrolmentFileError([RowProblem(None, None, _l("The file is empty."))])
    # Who are these NIPs? One query for the whole file.
    known = {}
    nips = [r.nip for r in parsed]
    for start in range(0, len(nips), 1000):
        for user in db.session.execute(select(User).where(User.nip.in_(nips[start:start + 1000]))).scalars():
            known[user.nip] = user
    rows_out = []
    for r in parsed:
        user = known.get(r.nip)
        if user is None:
            problems.append(RowProblem(r.row, "nip", _l("No account has this NIP.")))
        elif user.role != "participant":
            problems.append(RowProblem(r.row, "nip", _l("This account is not a participant.")))
        elif not user.is_active_account:
            problems.append(RowProblem(r.row, "nip", _l("This participant's account is deactivated.")))
        else:
            rows_out.append(EnrolRow(r.row, r.nip, r.extra_minutes, user.id))
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column != "nip"))
        raise EnrolmentFileError(problems)
    if not rows_out:
        raise EnrolmentFileError([RowProblem(None, None, _l("The file has no NIPs below the header."))])
    return rows_out


def enroll_file(wave: Wave, filename: str, data: bytes) -> EnrolResult:
    """Enrol every NIP of the file, all or nothing; participants already enrolled get the file's
    extra minutes (when the file gives them). Raise :class:`EnrolmentFileError` on any bad row."""
    rows = parse_enrolment_file(filename, data)
    existing = {e.user_id: e for e in db.session.execute(
        select(Enrollment).where(Enrollment.wave_id == wave.id)).scalars()}
    result = EnrolResult()
    for row in rows:
        enrollment = existing.get(row.user_id)
        if enrollment is None:
            db.session.add(Enrollment(wave_id=wave.id, user_id=row.user_id, source="upload",
                                      extra_minutes=row.extra_minutes or 0))
            result.added += 1
        elif row.extra_minutes is not None and enrollment.extra_minutes != row.extra_minutes:
            enrollment.extra_minutes = row.extra_minutes
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    return result


def enroll_rule(wave: Wave) -> int:
    """Enrol by the wave's cluster, agencies or units (delivery's rule); returns how many were added."""
    return delivery.enroll_by_rule(wave)


def set_extra_minutes(enrollment: Enrollment, minutes: int) -> None:
    """Accommodation: extra minutes added to the time limit of an attempt started afterwards."""
    if minutes is None or not 0 <= minutes <= MAX_EXTRA_MINUTES:
        raise WaveError(_l("Extra minutes must be a whole number from 0 to %(max)d.", max=MAX_EXTRA_MINUTES),
                        "extra_minutes")
    enrollment.extra_minutes = minutes
    db.session.flush()


# ----------------------------------------------------------------------------------- monitoring
STATUS_FILTERS = ("not_started", "in_progress", "paused", "submitted", "expired", "void", "stuck")


def agency_counts(wave: Wave, now: Optional[datetime] = None) -> list[dict]:
    """Per agency: enrolled, started, in progress, overdue (past deadline, not yet closed),
    submitted, expired. One grouped query."""
    now = now or utcnow()
    cutoff = now - delivery.grace()
    live = and_(Attempt.wave_id == Enrollment.wave_id, Attempt.user_id == Enrollment.user_id,
                Attempt.status != "void")

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = db.session.execute(
        select(Agency.id, Agency.code, Agency.name,
               func.count(func.distinct(Enrollment.id)).label("enrolled"),
               func.count(Attempt.id).label("started"),
               count_if(Attempt.status == "in_progress").label("in_progress"),
               count_if((Attempt.status == "in_progress") & Attempt.paused_at.is_(None)
                        & (Attempt.deadline_at < cutoff)).label("overdue"),
               count_if((Attempt.status == "in_progress") & Attempt.paused_at.is_not(None)).label("paused"),
               count_if(Attempt.status == "submitted").label("submitted"),
               count_if(Attempt.status == "expired").label("expired"))
        .select_from(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .outerjoin(Attempt, live)
        .where(Enrollment.wave_id == wave.id)
        .group_by(Agency.id, Agency.code, Agency.name)
        .order_by(Agency.code)
    ).all()
    keys = ("enrolled", "started", "in_progress", "paused", "overdue", "submitted", "expired")
    out = [{"agency_id": r.id, "code": r.code, "name": r.name, **{k: int(getattr(r, k)) for k in keys}}
           for r in rows]
    return out


def totals(rows: Iterable[dict]) -> dict:
    keys = ("enrolled", "started", "in_progress", "paused", "overdue", "submitted", "expired")
    return {k: sum(r[k] for r in rows) for k in keys}


def stuck_query(wave: Wave, minutes: int = STUCK_MINUTES, now: Optional[datetime] = None):
    """In-progress attempts with no sign of life for ``minutes`` (oldest first)."""
    cutoff = (now or utcnow()) - timedelta(minutes=minutes)
    return (select(Attempt).options(joinedload(Attempt.user).joinedload(User.agency))
            .where(Attempt.wave_id == wave.id, Attempt.status == "in_progress", Attempt.paused_at.is_(None),
                   or_(Attempt.last_seen_at.is_(None), Attempt.last_seen_at < cutoff))
            .order_by(Attempt.last_seen_at.asc().nulls_first(), Attempt.id))


def participants_query(wave: Wave, *, status: Optional[str] = None, q: str = "",
                       stuck_minutes: int = STUCK_MINUTES, now: Optional[datetime] = None):
    """Enrolments of a wave (with user and agency loaded), filtered by attempt status and NIP/name."""
    live = and_(Attempt.wave_id == Enrollment.wave_id, Attempt.user_id == Enrollment.user_id,
                Attempt.status != "void")
    query = (select(Enrollment).options(joinedload(Enrollment.user).joinedload(User.agency))
             .join(User, User.id == Enrollment.user_id)
             .where(Enrollment.wave_id == wave.id))
    if status == "not_started":
        query = query.where(~exists().where(live))
    elif status == "stuck":
        cutoff = (now or utcnow()) - timedelta(minutes=stuck_minutes)
        query = query.where(exists().where(live, Attempt.status == "in_progress", Attempt.paused_at.is_(None), or_(
            Attempt.last_seen_at.is_(None), Attempt.last_seen_at < cutoff)))
    elif status == "paused":
        query = query.where(exists().where(live, Attempt.status == "in_progress", Attempt.paused_at.is_not(None)))
    elif status == "void":
        query = query.where(exists().where(Attempt.wave_id == Enrollment.wave_id,
                                           Attempt.user_id == Enrollment.user_id, Attempt.status == "void"))
    elif status in ("in_progress", "submitted", "expired"):
        query = query.where(exists().where(live, Attempt.status == status))
    q = (q or "").strip()
    if q:
        query = query.where(or_(func.lower(User.name).like(f"%{q.lower()}%"), User.nip.like(f"%{q}%")))
    return query.order_by(User.name, User.id)


def attempts_for(wave: Wave, user_ids: list[int]) -> dict[int, Attempt]:
    """The latest attempt of each user in the wave (one query for a page of participants)."""
    out: dict[int, Attempt] = {}
    for attempt in db.session.execute(
        select(Attempt).where(Attempt.wave_id == wave.id, Attempt.user_id.in_(user_ids or [-1]))
        .order_by(Attempt.user_id, Attempt.number)
    ).scalars():
        out[attempt.user_id] = attempt
    return out


# ----------------------------------------------------------------------------------- interventions
def _check_intervention(minutes: Any, reason: str) -> str:
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_INTERVENTION_MINUTES:
        raise WaveError(_l("Minutes must be a whole number from 1 to %(max)d.", max=MAX_INTERVENTION_MINUTES),
                        "minutes")
    return _check_reason(reason)


def _flush_attempt() -> None:
    """Flush an intervention; the attempt's version counter fails it if the participant got in first."""
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise _stale() from None


def _record(attempt: Attempt, event: str, action: str, detail: dict, actor: Optional[User]) -> None:
    """An intervention shows on the attempt's events (for assessors) and in the audit log."""
    delivery.log_event(attempt, event, detail=detail)
    audit.record(action, actor=actor, target=attempt, detail={"wave_id": attempt.wave_id, **detail})


def _stale() -> WaveError:
    return WaveError(_l("The attempt changed while you were looking at it (the participant may have just "
                        "submitted). Reload the page and try again."))


def extend_attempt(attempt: Attempt, minutes: int, reason: str, *, actor: Optional[User] = None) -> datetime:
    """Give an in-progress attempt ``minutes`` more: the deadline moves from the current deadline,
    or from now when the deadline has already passed. Returns the new deadline; flush."""
    reason = _check_intervention(minutes, reason)
    if attempt.status != "in_progress":
        raise WaveError(_l("Only an attempt in progress can get more time; reopen a closed attempt instead."))
    now = attempt.paused_at or utcnow()  # a paused attempt's clock stands at its pause
    old = attempt.deadline_at
    new = max(old, now) + timedelta(minutes=minutes)
    attempt.deadline_at = new
    part = delivery.section_deadline(attempt)
    if part is not None:  # the current part's own clock gets the same minutes
        delivery.set_section_deadline(attempt, max(part, now) + timedelta(minutes=minutes))
    _flush_attempt()
    detail = {"minutes": minutes, "reason": reason, "old_deadline": old.isoformat(),
              "new_deadline": new.isoformat(), "by": actor.login_name if actor else None}
    _record(attempt, "admin_extend", "attempt.extend", detail, actor)
    return new


def reopenable_sections(attempt: Attempt) -> list[int]:
    """Sections an attempt can be reopened at: every section except an adaptive one that has ended."""
    return [i for i, s in enumerate(attempt.form.get("sections", []))
            if not (s.get("method") == "cat" and (s.get("cat") or {}).get("stop"))]


def reopen_attempt(attempt: Attempt, minutes: int, reason: str, *, section: Optional[int] = None,
                   actor: Optional[User] = None) -> datetime:
    """Reopen an expired or submitted attempt for ``minutes`` from now; its scores are deleted and
    computed again on the next submit. The participant returns to ``section`` (default: where they
    stopped, or the last section that can be reopened when they had finished). Flush."""
    reason = _check_intervention(minutes, reason)
    if attempt.status not in ("expired", "submitted"):
        raise WaveError(_l("Only an expired or submitted attempt can be reopened."))
    sections = attempt.form.get("sections", [])
    allowed = reopenable_sections(attempt)
    current = attempt.form.get("current", 0)
    if section is None:
        if current < len(sections) and current in allowed:
            section = current
        elif current >= len(sections) and allowed:
            section = allowed[-1]
        else:
            section = current
    elif section not in allowed:
        raise WaveError(_l("This part cannot be reopened: an adaptive part that has ended stays closed."), "section")
    now = utcnow()
    old_status, old_deadline = attempt.status, attempt.deadline_at
    if section < len(sections):
        for i, s in enumerate(sections):
            if i > section and s.get("state") == "active":
                s["state"] = "pending"
            if i >= section:
                # Parts from here on run on the minutes given now: the reopened part has no clock
                # of its own, the later ones start theirs afresh when entered.
                s.pop("deadline", None)
                s.pop("timed_out", None)
        sections[section]["state"] = "active"
        attempt.form["current"] = section
        attempt.position = 0 if sections[section]["method"] != "cat" else max(0, len(sections[section]["items"]) - 1)
        flag_modified(attempt, "form")
    new = now + timedelta(minutes=minutes)
    attempt.status = "in_progress"
    attempt.deadline_at = new
    attempt.paused_at = None
    attempt.submitted_at = None
    attempt.scored_at = None
    _flush_attempt()
    db.session.execute(delete(Score).where(Score.attempt_id == attempt.id))
    detail = {"minutes": minutes, "reason": reason, "from_status": old_status,
              "old_deadline": old_deadline.isoformat(), "new_deadline": new.isoformat(),
              "section": section, "by": actor.login_name if actor else None}
    _record(attempt, "admin_reopen", "attempt.reopen", detail, actor)
    return new


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise WaveError(_l("Give a reason (at least 5 characters); it is kept in the audit log."), "reason")
    return reason[:500]


def pause_attempt(attempt: Attempt, reason: str, *, actor: Optional[User] = None) -> datetime:
    """Stop the clock of an in-progress attempt (a power cut in the room, a proctor's check).

    While paused, nothing can be saved or submitted and the attempt cannot expire; the page keeps
    unsent answers on the device and says why. Returns the pause time; flush.
    """
    reason = _check_reason(reason)
    if attempt.status != "in_progress":
        raise WaveError(_l("Only an attempt in progress can be paused."))
    if attempt.paused_at is not None:
        raise WaveError(_l("This attempt is already paused."))
    now = utcnow()
    if delivery.is_past_deadline(attempt, now):
        raise WaveError(_l("The deadline of this attempt has passed; extend its time instead."))
    attempt.paused_at = now
    _flush_attempt()
    detail = {"reason": reason, "remaining_seconds": int(delivery.remaining_seconds(attempt, now)),
              "by": actor.login_name if actor else None}
    _record(attempt, "admin_pause", "attempt.pause", detail, actor)
    return now


def resume_attempt(attempt: Attempt, *, actor: Optional[User] = None, reason: str = "") -> datetime:
    """Start a paused attempt's clock again: its deadline (and the current part's) move later by
    the time it was paused. Returns the new deadline; flush."""
    if attempt.status != "in_progress" or attempt.paused_at is None:
        raise WaveError(_l("This attempt is not paused."))
    now = utcnow()
    paused_for = max(now - attempt.paused_at, timedelta(0))
    old = attempt.deadline_at
    attempt.deadline_at = old + paused_for
    part = delivery.section_deadline(attempt)
    if part is not None:
        delivery.set_section_deadline(attempt, part + paused_for)
    attempt.paused_at = None
    _flush_attempt()
    detail = {"paused_seconds": int(paused_for.total_seconds()), "old_deadline": old.isoformat(),
              "new_deadline": attempt.deadline_at.isoformat(), "reason": (reason or "").strip()[:500] or None,
              "by": actor.login_name if actor else None}
    _record(attempt, "admin_resume", "attempt.resume", detail, actor)
    return attempt.deadline_at


def _running(wave: Wave, agency_id: Optional[int]) -> list:
    """Conditions on the attempts table for the wave's attempts in progress (of one agency when given)."""
    table = Attempt.__table__
    conditions = [table.c.wave_id == wave.id, table.c.status == "in_progress"]
    if agency_id is not None:
        conditions.append(table.c.user_id.in_(select(User.id).where(User.agency_id == agency_id)))
    return conditions


def _record_many(wave: Wave, event: str, action: str, details: dict[int, dict], actor: Optional[User]) -> None:
    """The attempt events and audit rows of a wave-wide intervention, one bulk insert each (the same
    rows as :func:`_record` writes for one attempt)."""
    if not details:
        return
    now = utcnow()
    db.session.execute(insert(AttemptEvent.__table__),
                       [{"attempt_id": attempt_id, "kind": event, "at": now, "detail": detail}
                        for attempt_id, detail in details.items()])
    audit.record_many(action, "attempts", {attempt_id: {"wave_id": wave.id, **detail}
                                           for attempt_id, detail in details.items()}, actor=actor)


def _forget_attempts() -> None:
    """Set-based updates bypass the session: drop what it holds of attempts, so nothing stale is read."""
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Attempt):
            db.session.expire(obj)


def pause_wave(wave: Wave, reason: str, *, actor: Optional[User] = None,
               agency_id: Optional[int] = None) -> int:
    """Pause every running attempt of the wave (of one agency when given) that is not paused or
    past its deadline. Returns how many; flush.

    One UPDATE ... RETURNING for all of them and one bulk insert each for their events and audit
    rows (a wave in a test-room incident can have thousands running; attempt by attempt took
    1.4 ms each on PostgreSQL). The conditions are re-checked on every row as it is updated, so a
    test submitted meanwhile is not paused; the version counter moves, so a request that loaded
    the attempt before fails rather than overwrite the pause.
    """
    reason = _check_reason(reason)
    db.session.flush()
    now = utcnow()
    table = Attempt.__table__
    rows = db.session.execute(
        update(table).where(*_running(wave, agency_id), table.c.paused_at.is_(None), table.c.deadline_at > now)
        .values(paused_at=now, row_version=table.c.row_version + 1)
        .returning(table.c.id, table.c.deadline_at, table.c.form)).all()
    _forget_attempts()
    by = actor.login_name if actor else None
    details = {}
    for attempt_id, deadline, form in rows:
        part = delivery.section_deadline_of(form)
        left = (deadline if part is None else min(part, deadline)) - now
        details[attempt_id] = {"reason": reason, "remaining_seconds": int(max(left.total_seconds(), 0)), "by": by}
    _record_many(wave, "admin_pause", "attempt.pause", details, actor)
    n = len(rows)
    audit.record("wave.pause", actor=actor, target=wave, detail={"paused": n, "reason": reason, "agency_id": agency_id})
    return n


def resume_wave(wave: Wave, *, actor: Optional[User] = None, agency_id: Optional[int] = None) -> int:
    """Resume every paused attempt of the wave (of one agency when given): each deadline, and the
    current part's, moves later by the time that attempt was paused. Returns how many; flush.

    The new deadlines are computed here and written in one executemany UPDATE, each row guarded by
    the pause time and deadline it was read with; if another admin changed one meanwhile, nothing is
    resumed and the admin is asked to reload.
    """
    db.session.flush()
    now = utcnow()
    table = Attempt.__table__
    rows = db.session.execute(
        select(table.c.id, table.c.paused_at, table.c.deadline_at, table.c.form)
        .where(*_running(wave, agency_id), table.c.paused_at.is_not(None)).order_by(table.c.id)).all()
    by = actor.login_name if actor else None
    plain, with_part, details = [], [], {}
    for attempt_id, paused_at, deadline, form in rows:
        paused_for = max(now - paused_at, timedelta(0))
        values = {"b_id": attempt_id, "b_paused": paused_at, "b_deadline": deadline,
                  "b_new_deadline": deadline + paused_for}
        part = delivery.section_deadline_of(form)
        if part is None:
            plain.append(values)
        else:
            form = copy.deepcopy(form)
            form["sections"][form.get("current", 0)]["deadline"] = (part + paused_for).isoformat()
            with_part.append({**values, "b_form": form})
        details[attempt_id] = {"paused_seconds": int(paused_for.total_seconds()), "old_deadline": deadline.isoformat(),
                               "new_deadline": (deadline + paused_for).isoformat(), "reason": None, "by": by}
    guard = update(table).where(table.c.id == bindparam("b_id"), table.c.paused_at == bindparam("b_paused"),
                                table.c.deadline_at == bindparam("b_deadline"))
    changed = {"paused_at": None, "deadline_at": bindparam("b_new_deadline"), "row_version": table.c.row_version + 1}
    done = 0
    for params, statement in ((plain, guard.values(**changed)),
                              (with_part, guard.values(**changed, form=bindparam("b_form")))):
        if params:
            done += db.session.execute(statement, params).rowcount
    _forget_attempts()
    if done != len(rows):
        db.session.rollback()
        raise _stale()
    _record_many(wave, "admin_resume", "attempt.resume", details, actor)
    n = len(rows)
    audit.record("wave.resume", actor=actor, target=wave, detail={"resumed": n, "agency_id": agency_id})
    return n
