"""The item bank: the interchange form of items, validation, import and export.

Every bank format (the native YAML directory of item_bank/README.md, CSV and XLSX sheets, IMS QTI
3.0 packages) is read into the same :class:`BankContent`: an optional catalog of batteries and
competencies plus one document per competency, each with its stimuli and items as plain dicts in
the YAML shape. One validator checks them all and reports every problem at once (file, row or
item, field, reason); one writer applies them. An import either applies entirely or changes
nothing, and a dry run reports what it would change without writing.

Item versions are immutable: changed content or parameters become a new version, and responses
keep pointing at the version the participant saw. Shared stimuli are immutable too: a changed
passage becomes a new stimulus row (the old one is kept under ``<code>@<n>``) and the items that
show it get new versions.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Optional

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload

from assess.extensions import db
from assess.models import Battery, Competency, Item, ItemStatusChange, ItemVersion, Stimulus, User
from assess.models.bank import DEFAULT_CUT_SCORES, IRT_MODELS, ITEM_STATUSES, ITEM_TYPES
from assess.services.rendering import unsafe_markup

MAX_FILE_BYTES = 2 * 1024 * 1024        # one YAML file of the native format
MAX_UPLOAD_BYTES = 10 * 1024 * 1024     # one uploaded CSV, XLSX or ZIP file
MAX_UNPACKED_BYTES = 60 * 1024 * 1024   # everything inside an uploaded ZIP (XLSX, QTI, YAML)
MAX_ZIP_ENTRIES = 20_000
MAX_STEM_CHARS = 10_000
MAX_OPTION_CHARS = 2_000
MAX_STIMULUS_CHARS = 30_000
MAX_LABEL_CHARS = 200
A_MAX = 4.0
B_MAX = 6.0
C_MAX = 0.5
DICHOTOMOUS = ("rasch", "2pl", "3pl")
POLYTOMOUS = ("grm", "gpcm")
LIKERT_OPTIONS = 5
MC_OPTIONS = (3, 5)
SJT_OPTIONS = (4, 5)
ITEM_ID_DIGITS = (3, 6)
ARCHIVED_MARK = "@"  # Stimulus.code of a replaced revision: "<code>@<n>"

LIKERT_LABELS = (
    _l("Strongly disagree"), _l("Disagree"), _l("Neutral"), _l("Agree"),
    _l("Strongly agree"),
)

# Display names of the version columns, as fields of the file format.
FIELD_NAMES = {
    "item_type": "type", "level": "level", "subdomain": "subdomain", "stimulus": "stimulus",
    "stem": "stem", "options": "options", "reverse_keyed": "reverse", "irt_model": "irt.model",
    "a": "irt.a", "b": "irt.b", "c": "irt.c", "thresholds": "irt.thresholds",
    "calibrated": "irt.calibrated",
}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ItemVersionIsImmutable(RuntimeError):
    """An item version's content, scoring and parameters never change in place."""


@event.listens_for(ItemVersion, "before_update")
def _refuse_version_update(mapper, connection, target):
    raise ItemVersionIsImmutable(
        f"item version {target.id} is immutable; add a new version instead")


# ----------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class BankProblem:
    """One problem in a bank source: where (file, row or item, field) and why."""

    file: str
    item: Optional[str]
    field: Optional[str]
    message: Any  # a lazy translated string
    row: Optional[int] = None

    def where(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(str(_l("row %(n)d", n=self.row)))
        if self.item:
            parts.append(str(_l("item %(id)s", id=self.item)))
        if self.field:
            parts.append(str(_l("field %(f)s", f=self.field)))
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


class BankValidationError(ValueError):
    """Every problem found; nothing was written. The text is made when asked for (in the locale
    of that moment), so raising it needs no request."""

    def __init__(self, problems: list[BankProblem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


# ----------------------------------------------------------------------------- content
@dataclass
class BankDoc:
    """The items of one competency as read from one source file (YAML shape)."""

    file: str
    competency: str
    stimuli: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    # Tabular sources: the row of each item (by index) and each stimulus (by code).
    rows: dict[int, int] = field(default_factory=dict)
    stimulus_rows: dict[str, int] = field(default_factory=dict)
    # Tabular sources name fields by their column; YAML by their path.
    field_names: Optional[dict[str, str]] = None


@dataclass
class BankContent:
    """What a bank source holds: an optional catalog, documents, and problems found reading it."""

    catalog: Optional[list[dict]] = None
    docs: list[BankDoc] = field(default_factory=list)
    problems: list[BankProblem] = field(default_factory=list)


@dataclass
class Change:
    kind: str  # battery, competency, stimulus, item, version, status
    code: str
    detail: str = ""


@dataclass
class ImportResult:
    counts: dict = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def add(self, kind: str, code: str, detail: str = "", count_as: Optional[str] = None) -> None:
        self.changes.append(Change(kind, code, detail))
        self.bump(count_as or kind)

    def summary(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())) or "no changes"


# ----------------------------------------------------------------------------- checks
def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_problems(text, fld, bad, limit: int, required: bool = True) -> None:
    if text is None or (isinstance(text, str) and not text.strip()):
        if required:
            bad(fld, _l("%(f)s is empty", f=fld))
        return
    if not isinstance(text, str):
        bad(fld, _l("%(f)s must be text", f=fld))
        return
    if len(text) > limit:
        bad(fld, _l("%(f)s is longer than %(n)d characters", f=fld, n=limit))
    unsafe = unsafe_markup(text)
    if unsafe:
        bad(fld, _l("unsafe HTML in %(f)s: %(what)s", f=fld, what=", ".join(unsafe)))


def validate_item(raw: dict, problems: list, fname: str, stimuli: Iterable[str] = (),
                  *, row: Optional[int] = None, field_names: Optional[dict] = None) -> None:
    """Check one item dict against the format; append a :class:`BankProblem` per violation.

    ``stimuli`` are the stimulus codes the item may refer to. ``field_names`` renames fields
    in the messages (a spreadsheet names columns, not YAML paths).
    """
    iid = str(raw.get("id") or "?")
    names = field_names or {}

    def bad(fld, msg):
        problems.append(BankProblem(fname, iid, names.get(fld, fld), msg, row))

    if not isinstance(raw, dict):
        bad(None, _l("an item must be a mapping of fields"))
        return
    itype = raw.get("type")
    if itype not in ITEM_TYPES:
        bad("type", _l("unknown item type %(t)r (expected mc, sjt or likert)", t=itype))
        return
    level = raw.get("level")
    if not _int(level) or not 1 <= level <= 5:
        bad("level", _l("level must be an integer from 1 to 5"))
    status = raw.get("status", "draft")
    if status not in ITEM_STATUSES:
        bad("status", _l("unknown status %(s)r", s=status))
    if raw.get("subdomain") is not None:
        sub = raw["subdomain"]
        if not isinstance(sub, str) or len(sub) > MAX_LABEL_CHARS:
            bad("subdomain", _l("the subdomain must be text of at most %(n)d characters", n=MAX_LABEL_CHARS))
    _text_problems(raw.get("stem"), "stem", bad, MAX_STEM_CHARS)
    if raw.get("stimulus") is not None and raw["stimulus"] not in set(stimuli):
        bad("stimulus", _l("unknown stimulus %(s)r", s=raw["stimulus"]))
    if "reverse" in raw and not isinstance(raw["reverse"], bool):
        bad("reverse", _l("reverse must be true or false"))
    elif raw.get("reverse") and itype != "likert":
        bad("reverse", _l("only Likert items can be reverse-keyed"))

    options = raw.get("options")
    if options is None:
        options = []
    if not isinstance(options, list):
        bad("options", _l("options must be a list"))
        options = []
    if itype == "mc":
        if not MC_OPTIONS[0] <= len(options) <= MC_OPTIONS[1]:
            bad("options", _l("a multiple-choice item needs 3 to 5 options, found %(n)d", n=len(options)))
        keys = sum(1 for o in options if isinstance(o, dict) and o.get("key") is True)
        if keys == 0:
            bad("options", _l("no option is marked as the key"))
        elif keys > 1:
            bad("options", _l("%(n)d options are marked as the key; exactly one is allowed", n=keys))
        if any(isinstance(o, dict) and "score" in o for o in options):
            bad("options", _l("multiple-choice options are marked with key, not scored"))
    elif itype == "sjt":
        if not SJT_OPTIONS[0] <= len(options) <= SJT_OPTIONS[1]:
            bad("options", _l("a situational judgement item needs 4 or 5 options, found %(n)d", n=len(options)))
        scores = [o.get("score") if isinstance(o, dict) else None for o in options]
        if any(not _int(s) or not 1 <= s <= 5 for s in scores):
            bad("options", _l("every option score must be an integer from 1 to 5"))
        elif len(set(scores)) != len(scores):
            bad("options", _l("option scores must be distinct"))
        if any(isinstance(o, dict) and "key" in o for o in options):
            bad("options", _l("situational judgement options are scored 1 to 5, not keyed"))
    elif itype == "likert" and options:
        if len(options) != LIKERT_OPTIONS:
            bad("options", _l("a Likert item has exactly 5 options (or none for the standard five), found %(n)d",
                              n=len(options)))
        if any(isinstance(o, dict) and ("key" in o or "score" in o) for o in options):
            bad("options", _l("Likert options are labels in order 1 to 5, without key or score"))
    for n, option in enumerate(options, start=1):
        if not isinstance(option, dict):
            bad(f"options[{n}]", _l("an option must be a mapping with a text"))
            continue
        _text_problems(option.get("text"), f"options[{n}]", bad, MAX_OPTION_CHARS)

    irt = raw.get("irt")
    if not isinstance(irt, dict):
        bad("irt", _l("IRT parameters are missing"))
        return
    model = irt.get("model")
    if model not in IRT_MODELS:
        bad("irt.model", _l("unknown IRT model %(m)r", m=model))
        return
    if (itype == "mc") != (model in DICHOTOMOUS):
        bad("irt.model", _l("model %(m)s does not fit item type %(t)s", m=model, t=itype))
        return
    if "calibrated" in irt and not isinstance(irt["calibrated"], bool):
        bad("irt.calibrated", _l("calibrated must be true or false"))
    a = irt.get("a", 1.0 if model == "rasch" else None)
    if not _num(a) or not 0 < a <= A_MAX:
        bad("irt.a", _l("slope a must be a number above 0 and at most %(max)s", max=A_MAX))
    elif model == "rasch" and a != 1:
        bad("irt.a", _l("a Rasch item has slope a = 1"))
    if model in DICHOTOMOUS:
        b = irt.get("b")
        if not _num(b) or abs(b) > B_MAX:
            bad("irt.b", _l("difficulty b must be a number between -6 and 6"))
        c = irt.get("c")
        if model == "3pl":
            if not _num(c) or not 0 <= c < C_MAX:
                bad("irt.c", _l("guessing c must be at least 0 and below 0.5"))
        elif c not in (None, 0, 0.0):
            bad("irt.c", _l("only 3PL items have a guessing parameter c"))
        if irt.get("thresholds") not in (None, []):
            bad("irt.thresholds", _l("thresholds are for GRM and GPCM items"))
    else:
        if irt.get("b") is not None or irt.get("c") is not None:
            bad("irt.b", _l("GRM and GPCM items have thresholds, not b or c"))
        thresholds = irt.get("thresholds")
        k = LIKERT_OPTIONS if itype == "likert" else len(options)
        if not isinstance(thresholds, list) or not all(_num(t) for t in thresholds):
            bad("irt.thresholds", _l("thresholds must be a list of numbers"))
        elif len(thresholds) != k - 1:
            bad("irt.thresholds", _l("%(k)d categories need %(n)d thresholds, found %(f)d", k=k, n=k - 1, f=len(thresholds)))
        elif any(abs(t) > B_MAX for t in thresholds):
            bad("irt.thresholds", _l("thresholds must lie between -6 and 6"))
        elif model == "grm" and any(t2 <= t1 for t1, t2 in zip(thresholds, thresholds[1:])):
            bad("irt.thresholds", _l("GRM thresholds must be strictly increasing"))


def _item_id_ok(iid, competency: str) -> bool:
    if not isinstance(iid, str) or not iid.startswith(competency + "-"):
        return False
    rest = iid[len(competency) + 1:]
    return rest.isdigit() and ITEM_ID_DIGITS[0] <= len(rest) <= ITEM_ID_DIGITS[1] and len(iid) <= 40


def _catalog_problems(catalog, fname: str) -> tuple[dict, list[BankProblem]]:
    """Check the catalog; return {competency code: (battery dict, competency dict)}."""
    problems: list[BankProblem] = []
    out: dict[str, tuple[dict, dict]] = {}

    def bad(where, fld, msg):
        problems.append(BankProblem(fname, where, fld, msg))

    if not isinstance(catalog, list) or not catalog:
        bad(None, "batteries", _l("the catalog lists no batteries"))
        return out, problems
    seen_batteries: set[str] = set()
    for braw in catalog:
        if not isinstance(braw, dict) or not isinstance(braw.get("code"), str):
            bad(None, "batteries", _l("every battery needs a code"))
            continue
        bcode = braw["code"]
        if bcode in seen_batteries:
            bad(bcode, "code", _l("duplicate battery code"))
        seen_batteries.add(bcode)
        for key in ("name_id", "name_en"):
            if not isinstance(braw.get(key), str) or not braw[key].strip():
                bad(bcode, key, _l("%(f)s is empty", f=key))
        comps = braw.get("competencies")
        if not isinstance(comps, list):
            bad(bcode, "competencies", _l("competencies must be a list"))
            continue
        for craw in comps:
            if not isinstance(craw, dict) or not isinstance(craw.get("code"), str) or not craw["code"]:
                bad(bcode, "competencies", _l("every competency needs a code"))
                continue
            code = craw["code"]
            if code in out:
                bad(code, "code", _l("duplicate competency code"))
            if len(code) > 16 or not re.fullmatch(r"[A-Za-z0-9._]+", code):
                bad(code, "code", _l("a competency code has at most 16 letters, digits, dots or underscores"))
            for key in ("name_id", "name_en"):
                if not isinstance(craw.get(key), str) or not craw[key].strip():
                    bad(code, key, _l("%(f)s is empty", f=key))
            if craw.get("item_type") not in ITEM_TYPES:
                bad(code, "item_type", _l("unknown item type %(t)r (expected mc, sjt or likert)", t=craw.get("item_type")))
            if craw.get("model") not in IRT_MODELS:
                bad(code, "model", _l("unknown IRT model %(m)r", m=craw.get("model")))
            cuts = craw.get("cut_scores")
            if cuts is not None and (not isinstance(cuts, list) or len(cuts) != 4
                                     or not all(_num(c) for c in cuts)
                                     or any(c2 <= c1 for c1, c2 in zip(cuts, cuts[1:]))):
                bad(code, "cut_scores", _l("cut scores must be 4 increasing numbers"))
            out[code] = (braw, craw)
    return out, problems


def validate_content(content: BankContent) -> list[BankProblem]:
    """Every problem of a bank source: catalog, competencies, ids, stimuli and items."""
    problems = list(content.problems)
    catalog_comps: dict[str, tuple[dict, dict]] = {}
    if content.catalog is not None:
        catalog_comps, cat_problems = _catalog_problems(content.catalog, "catalog.yaml")
        problems += cat_problems
    db_comps = {c.code: c.id for c in db.session.execute(select(Competency)).scalars()}
    db_items = dict(db.session.execute(
        select(Item.code, Competency.code).join(Competency, Item.competency_id == Competency.id)).all())
    db_stimuli = {}
    for code, comp in db.session.execute(
            select(Stimulus.code, Competency.code).join(Competency, Stimulus.competency_id == Competency.id)):
        if ARCHIVED_MARK not in code:
            db_stimuli[code] = comp
    seen_items: dict[str, str] = {}
    seen_stimuli: dict[str, str] = {}
    seen_docs: dict[str, str] = {}
    for doc in content.docs:
        fname, comp = doc.file, doc.competency
        if comp not in catalog_comps and comp not in db_comps:
            problems.append(BankProblem(fname, None, "competency", _l("unknown competency %(c)r", c=comp)))
            continue
        if comp in seen_docs and seen_docs[comp] != fname:
            problems.append(BankProblem(fname, None, "competency", _l(
                "competency %(c)s is also in %(f)s; one file per competency", c=comp, f=seen_docs[comp])))
        seen_docs[comp] = fname
        local_stimuli: set[str] = set()
        for sraw in doc.stimuli:
            sid = sraw.get("id") if isinstance(sraw, dict) else None
            srow = doc.stimulus_rows.get(sid) if isinstance(sid, str) else None
            names = doc.field_names or {}

            def sbad(fld, msg, sid=sid, srow=srow):
                problems.append(BankProblem(fname, str(sid), names.get(f"stimulus.{fld}", fld), msg, srow))

            if not isinstance(sid, str) or not sid.startswith(comp + "-") or len(sid) > 40 \
                    or ARCHIVED_MARK in sid or sid[len(comp) + 1:].isdigit():
                sbad("id", _l("stimulus ids start with the competency code and a dash, then a "
                              "non-numeric part such as S01"))
                continue
            if sid in seen_stimuli:
                sbad("id", _l("duplicate stimulus id (also in %(f)s)", f=seen_stimuli[sid]))
            elif db_stimuli.get(sid, comp) != comp:
                sbad("id", _l("stimulus %(s)s belongs to competency %(c)s", s=sid, c=db_stimuli[sid]))
            seen_stimuli[sid] = fname
            local_stimuli.add(sid)
            title = sraw.get("title")
            if title is not None and (not isinstance(title, str) or len(title) > MAX_LABEL_CHARS):
                sbad("title", _l("the title must be text of at most %(n)d characters", n=MAX_LABEL_CHARS))
            elif title:
                _text_problems(title, "title", sbad, MAX_LABEL_CHARS)
            _text_problems(sraw.get("body"), "body", sbad, MAX_STIMULUS_CHARS)
        known_stimuli = local_stimuli | {s for s, c in db_stimuli.items() if c == comp}
        for index, raw in enumerate(doc.items):
            row = doc.rows.get(index)
            if not isinstance(raw, dict):
                problems.append(BankProblem(fname, None, None, _l("an item must be a mapping of fields"), row))
                continue
            iid = raw.get("id")
            idf = (doc.field_names or {}).get("id", "id")
            if not _item_id_ok(iid, comp):
                problems.append(BankProblem(fname, str(iid), idf, _l(
                    "item ids are the competency code, a dash and 3 to 6 digits (e.g. %(c)s-001)", c=comp), row))
            elif iid in seen_items:
                problems.append(BankProblem(fname, iid, idf, _l("duplicate item id (also in %(f)s)", f=seen_items[iid]), row))
            elif db_items.get(iid, comp) != comp:
                problems.append(BankProblem(fname, iid, idf, _l(
                    "item %(i)s already belongs to competency %(c)s", i=iid, c=db_items[iid]), row))
            if isinstance(iid, str):
                seen_items.setdefault(iid, fname)
            validate_item(raw, problems, fname, known_stimuli, row=row, field_names=doc.field_names)
    return problems


# ----------------------------------------------------------------------------- conversions
def _clean_text(value) -> Optional[str]:
    if value is None:
        return None
    text = str(value).replace("\r\n", "\n").strip()
    return text or None


def _options_for_db(raw: dict) -> list[dict]:
    options = raw.get("options") or []
    if raw["type"] == "mc":
        return [{"text": _clean_text(o["text"]), "score": 1 if o.get("key") is True else 0} for o in options]
    if raw["type"] == "sjt":
        return [{"text": _clean_text(o["text"]), "score": int(o["score"])} for o in options]
    return [{"text": _clean_text(o["text"]), "score": n} for n, o in enumerate(options, start=1)]


def version_fields(raw: dict) -> dict:
    """The ItemVersion columns an item dict describes (``stimulus`` as a code, not an id)."""
    irt = raw["irt"]
    model = irt["model"]
    return dict(
        item_type=raw["type"], level=int(raw["level"]), subdomain=_clean_text(raw.get("subdomain")),
        stimulus=raw.get("stimulus"), stem=_clean_text(raw["stem"]), options=_options_for_db(raw),
        reverse_keyed=bool(raw.get("reverse", False)), irt_model=model,
        a=float(irt.get("a", 1.0)),
        b=float(irt["b"]) if model in DICHOTOMOUS else None,
        c=(float(irt.get("c") or 0.0) if model in DICHOTOMOUS else None),
        thresholds=[float(t) for t in irt["thresholds"]] if model in POLYTOMOUS else None,
        calibrated=bool(irt.get("calibrated", False)),
    )


def stimulus_code(stimulus: Optional[Stimulus]) -> Optional[str]:
    if stimulus is None:
        return None
    return stimulus.code.split(ARCHIVED_MARK, 1)[0]


def current_fields(version: ItemVersion) -> dict:
    """The same shape as :func:`version_fields`, read from a stored version."""
    return dict(
        item_type=version.item_type, level=version.level, subdomain=version.subdomain,
        stimulus=stimulus_code(version.stimulus), stem=version.stem, options=list(version.options or []),
        reverse_keyed=bool(version.reverse_keyed), irt_model=version.irt_model, a=version.a,
        b=version.b, c=version.c, thresholds=list(version.thresholds) if version.thresholds is not None else None,
        calibrated=bool(version.calibrated),
    )


def item_to_raw(item: Item, version: Optional[ItemVersion] = None) -> dict:
    """An item (its current version unless given) as a dict of the file format."""
    v = version or item.current
    raw: dict[str, Any] = {"id": item.code, "type": v.item_type, "level": v.level}
    if v.subdomain:
        raw["subdomain"] = v.subdomain
    raw["status"] = item.status
    if v.stimulus is not None:
        raw["stimulus"] = stimulus_code(v.stimulus)
    raw["stem"] = v.stem
    if v.item_type == "mc":
        raw["options"] = [{"text": o["text"], **({"key": True} if o["score"] else {})} for o in v.options]
    elif v.item_type == "sjt":
        raw["options"] = [{"text": o["text"], "score": int(o["score"])} for o in v.options]
    else:
        if v.options:
            raw["options"] = [{"text": o["text"]} for o in v.options]
        raw["reverse"] = bool(v.reverse_keyed)
    irt: dict[str, Any] = {"model": v.irt_model, "a": float(v.a if v.a is not None else 1.0)}
    if v.irt_model in DICHOTOMOUS:
        irt["b"] = float(v.b)
        if v.irt_model == "3pl":
            irt["c"] = float(v.c or 0.0)
    else:
        irt["thresholds"] = [float(t) for t in v.thresholds or []]
    if v.calibrated:
        irt["calibrated"] = True
    raw["irt"] = irt
    return raw


def likert_labels(version: ItemVersion) -> list:
    """The five answer labels of a Likert item: its own, or the standard agreement scale."""
    if version.options:
        return [o["text"] for o in version.options]
    return list(LIKERT_LABELS)


def item_difficulty(version: ItemVersion) -> Optional[float]:
    """b, or the mean of the thresholds: where the item sits on θ (for charts and filters)."""
    if version.b is not None:
        return float(version.b)
    if version.thresholds:
        return float(sum(version.thresholds) / len(version.thresholds))
    return None


# ----------------------------------------------------------------------------- native format
def _load_yaml(data: bytes, fname: str, problems: list) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except UnicodeDecodeError:
        problems.append(BankProblem(fname, None, None, _l("the file is not UTF-8 text")))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        problems.append(BankProblem(fname, None, None, _l("not valid YAML%(line)s: %(e)s", line=line,
                                                          e=getattr(error, "problem", None) or str(error).splitlines()[0])))
    return None


def _doc_from_yaml(doc: Any, fname: str, problems: list) -> Optional[BankDoc]:
    if not isinstance(doc, dict) or not isinstance(doc.get("competency"), str):
        problems.append(BankProblem(fname, None, "competency", _l(
            "unknown competency %(c)r", c=doc.get("competency") if isinstance(doc, dict) else None)))
        return None
    unknown = set(doc) - {"competency", "stimuli", "items"}
    if unknown:
        problems.append(BankProblem(fname, None, None, _l("unknown keys: %(k)s", k=", ".join(sorted(map(str, unknown))))))
    stimuli = doc.get("stimuli") or []
    items = doc.get("items") or []
    if not isinstance(stimuli, list) or not isinstance(items, list):
        problems.append(BankProblem(fname, None, None, _l("stimuli and items must be lists")))
        return None
    return BankDoc(file=fname, competency=doc["competency"], stimuli=stimuli, items=items)


def read_native_files(files: dict[str, bytes], label: str = "") -> BankContent:
    """Read the native format from ``{relative path: bytes}`` (a directory or a ZIP of one).

    ``catalog.yaml`` is optional here (a single competency file refers to competencies that
    already exist); ``<battery>/<code>.yaml`` or a lone ``<code>.yaml`` hold the items.
    """
    content = BankContent()
    prefix = f"{label}: " if label else ""
    for name in sorted(files):
        data = files[name]
        fname = prefix + name
        if len(data) > MAX_FILE_BYTES:
            content.problems.append(BankProblem(fname, None, None, _l(
                "the file is larger than %(n)d bytes", n=MAX_FILE_BYTES)))
            continue
        parsed = _load_yaml(data, fname, content.problems)
        if parsed is None:
            continue
        if PurePosixPath(name).name == "catalog.yaml":
            if not isinstance(parsed, dict) or "batteries" not in parsed:
                content.problems.append(BankProblem(fname, None, "batteries", _l("the catalog lists no batteries")))
                content.catalog = []
            else:
                content.catalog = parsed["batteries"]
            continue
        doc = _doc_from_yaml(parsed, fname, content.problems)
        if doc is not None:
            content.docs.append(doc)
    return content


def _collect_dir(path: Path) -> tuple[dict[str, bytes], list[BankProblem]]:
    files: dict[str, bytes] = {}
    problems: list[BankProblem] = []
    candidates = [path / "catalog.yaml"] if (path / "catalog.yaml").is_file() else []
    candidates += sorted(p for p in path.glob("*/*.yaml") if p.is_file())
    for fpath in candidates:
        rel = str(fpath.relative_to(path))
        if fpath.stat().st_size > MAX_FILE_BYTES:
            problems.append(BankProblem(rel, None, None, _l("the file is larger than %(n)d bytes", n=MAX_FILE_BYTES)))
            continue
        files[rel] = fpath.read_bytes()
    return files, problems


def read_bank_dir(path: Path) -> tuple[Optional[list], list[BankDoc], list[BankProblem]]:
    """Parse catalog.yaml and every <battery>/<code>.yaml; return (catalog, docs, problems)."""
    path = Path(path)
    if not (path / "catalog.yaml").is_file():
        return None, [], [BankProblem(str(path / "catalog.yaml"), None, None, _l("catalog.yaml is missing"))]
    files, problems = _collect_dir(path)
    content = read_native_files(files)
    content.problems = problems + content.problems
    return content.catalog, content.docs, validate_content(content)


NOT_A_ZIP = _l("the file is not a valid ZIP archive")


def safe_zip(data: bytes, label: str) -> tuple[Optional[zipfile.ZipFile], list[BankProblem]]:
    """Open an uploaded ZIP with limits on size and entries (a ZIP bomb is refused unread)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None, [BankProblem(label, None, None, NOT_A_ZIP)]
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        return None, [BankProblem(label, None, None, _l(
            "the archive unpacks to more than %(n)d bytes or %(m)d files", n=MAX_UNPACKED_BYTES, m=MAX_ZIP_ENTRIES))]
    return archive, []


def read_native_zip(data: bytes, label: str) -> BankContent:
    archive, problems = safe_zip(data, label)
    if archive is None:
        return BankContent(problems=problems)
    names = [i.filename for i in archive.infolist() if not i.is_dir() and i.filename.endswith((".yaml", ".yml"))]
    # A ZIP of a folder holds "item_bank/catalog.yaml": strip the common top folder.
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    strip = len(tops) == 1 and all("/" in n for n in names) and not any(n == "catalog.yaml" for n in names)
    files = {}
    for name in names:
        rel = name.split("/", 1)[1] if strip else name
        if ".." in PurePosixPath(rel).parts or rel.startswith("/"):
            continue
        info = archive.getinfo(name)
        if info.file_size > MAX_FILE_BYTES:
            problems.append(BankProblem(f"{label}: {rel}", None, None, _l(
                "the file is larger than %(n)d bytes", n=MAX_FILE_BYTES)))
            continue
        files[rel] = archive.read(name)
    content = read_native_files(files, label)
    content.problems = problems + content.problems
    return content


# ----------------------------------------------------------------------------- sources
def read_source(name: str, data: Optional[bytes] = None, *, default_competency: Optional[str] = None,
                path: Optional[Path] = None) -> BankContent:
    """Read any bank source by its name: a directory (``path``), .yaml, .csv, .xlsx or .zip.

    A .zip holding ``imsmanifest.xml`` is a QTI package; any other .zip a native directory.
    """
    if path is not None and Path(path).is_dir():
        if not (Path(path) / "catalog.yaml").is_file() and not any(Path(path).glob("*/*.yaml")):
            return BankContent(problems=[BankProblem(str(path), None, None, _l("catalog.yaml is missing"))])
        files, problems = _collect_dir(Path(path))
        content = read_native_files(files)
        content.problems = problems + content.problems
        return content
    label = PurePosixPath(name).name
    if data is None:
        assert path is not None
        if Path(path).stat().st_size > MAX_UPLOAD_BYTES:
            return BankContent(problems=[BankProblem(label, None, None, _l(
                "the file is larger than %(n)d bytes", n=MAX_UPLOAD_BYTES))])
        data = Path(path).read_bytes()
    suffix = PurePosixPath(name).suffix.lower()
    limit = MAX_FILE_BYTES if suffix in (".yaml", ".yml") else MAX_UPLOAD_BYTES
    if len(data) > limit:
        return BankContent(problems=[BankProblem(label, None, None, _l("the file is larger than %(n)d bytes", n=limit))])
    if suffix in (".yaml", ".yml"):
        return read_native_files({label: data})
    if suffix == ".csv":
        from assess.services.bank_table import read_csv

        return read_csv(data, label)
    if suffix == ".xlsx":
        from assess.services.bank_table import read_xlsx

        return read_xlsx(data, label)
    if suffix == ".zip":
        from assess.services.bank_qti import is_qti_package, read_qti

        if is_qti_package(data):
            return read_qti(data, label, default_competency=default_competency)
        return read_native_zip(data, label)
    return BankContent(problems=[BankProblem(label, None, None, _l(
        "unknown file type %(s)r: use .yaml, .zip (bank folder or QTI package), .csv or .xlsx", s=suffix or name))])


# ----------------------------------------------------------------------------- import
def import_bank(path: Path, *, actor: Optional[User], update_existing: bool = True,
                dry_run: bool = False, default_competency: Optional[str] = None) -> ImportResult:
    """Import a bank directory or file: validate everything, then apply all of it or nothing.

    Raises :class:`BankValidationError` with every problem found; nothing is written then.
    A dry run writes nothing and reports what would change. The caller commits.
    """
    path = Path(path)
    if path.is_dir() and not (path / "catalog.yaml").is_file():
        raise BankValidationError([BankProblem(str(path / "catalog.yaml"), None, None, _l("catalog.yaml is missing"))])
    content = read_source(path.name, path=path, default_competency=default_competency)
    return import_content(content, actor=actor, update_existing=update_existing, dry_run=dry_run)


def import_upload(filename: str, data: bytes, *, actor: Optional[User], update_existing: bool = True,
                  dry_run: bool = False, default_competency: Optional[str] = None) -> ImportResult:
    """Import an uploaded file (.yaml, .zip, .csv, .xlsx); as :func:`import_bank`."""
    content = read_source(filename, data, default_competency=default_competency)
    return import_content(content, actor=actor, update_existing=update_existing, dry_run=dry_run)


def import_content(content: BankContent, *, actor: Optional[User], update_existing: bool = True,
                   dry_run: bool = False) -> ImportResult:
    problems = validate_content(content)
    if problems:
        raise BankValidationError(problems)
    return _apply(content, actor=actor, update_existing=update_existing, dry_run=dry_run)


def _changed_fields(current: dict, new: dict, replaced_stimuli: set[str]) -> list[str]:
    changed = [FIELD_NAMES[k] for k, v in new.items() if current.get(k) != v]
    if new.get("stimulus") and new["stimulus"] in replaced_stimuli and "stimulus" not in changed:
        changed.append("stimulus")
    return changed


def _new_version(item: Item, fields: dict, stimulus_id: Optional[int], actor_id: Optional[int],
                 note: str) -> ItemVersion:
    data = {k: v for k, v in fields.items() if k != "stimulus"}
    item.current_version += 1
    version = ItemVersion(version=item.current_version, stimulus_id=stimulus_id, change_note=note,
                          created_by_id=actor_id, **data)
    item.versions.append(version)
    return version


def _apply(content: BankContent, *, actor: Optional[User], update_existing: bool,
           dry_run: bool) -> ImportResult:
    result = ImportResult(dry_run=dry_run)
    actor_id = actor.id if actor is not None else None
    write = not dry_run
    comps = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
    if content.catalog:
        batteries = {b.code: b for b in db.session.execute(select(Battery)).scalars()}
        for bpos, braw in enumerate(content.catalog):
            battery = batteries.get(braw["code"])
            meta = dict(name_id=braw["name_id"], name_en=braw["name_en"], source=braw.get("source"))
            if battery is None:
                result.add("battery", braw["code"], count_as="batteries")
                if write:
                    battery = Battery(code=braw["code"], position=len(batteries), **meta)
                    db.session.add(battery)
                    batteries[battery.code] = battery
            elif update_existing and any(getattr(battery, k) != v for k, v in meta.items()):
                result.add("battery", braw["code"], "names", count_as="batteries_updated")
                if write:
                    for k, v in meta.items():
                        setattr(battery, k, v)
            for cpos, craw in enumerate(braw["competencies"]):
                cmeta = dict(name_id=craw["name_id"], name_en=craw["name_en"], item_type=craw["item_type"],
                             irt_model=craw["model"], description=craw.get("description"),
                             cut_scores=[float(c) for c in craw.get("cut_scores") or DEFAULT_CUT_SCORES])
                comp = comps.get(craw["code"])
                if comp is None:
                    result.add("competency", craw["code"], count_as="competencies")
                    if write:
                        comp = Competency(code=craw["code"], battery=battery, position=cpos, **cmeta)
                        db.session.add(comp)
                        comps[comp.code] = comp
                elif update_existing and any(getattr(comp, k) != v for k, v in cmeta.items()):
                    changed = [k for k, v in cmeta.items() if getattr(comp, k) != v]
                    result.add("competency", craw["code"], ", ".join(changed), count_as="competencies_updated")
                    if write:
                        for k, v in cmeta.items():
                            setattr(comp, k, v)
        if write:
            db.session.flush()

    stimuli = {s.code: s for s in db.session.execute(select(Stimulus)).scalars()}
    items = {i.code: i for i in db.session.execute(
        select(Item).options(selectinload(Item.versions).selectinload(ItemVersion.stimulus))).scalars()}
    replaced: dict[str, Optional[Stimulus]] = {}  # code -> new row (None in a dry run)
    new_items: list[tuple[Item, str]] = []
    touched: set[str] = set()
    for doc in content.docs:
        comp = comps.get(doc.competency)
        for sraw in doc.stimuli:
            code, title, body = sraw["id"], _clean_text(sraw.get("title")), _clean_text(sraw["body"])
            existing = stimuli.get(code)
            if existing is None:
                result.add("stimulus", code, count_as="stimuli")
                if write:
                    stim = Stimulus(code=code, competency_id=comp.id, title=title, body=body)
                    db.session.add(stim)
                    stimuli[code] = stim
            elif update_existing and (existing.title, existing.body) != (title, body):
                result.add("stimulus", code, "new revision", count_as="stimulus_revisions")
                replaced[code] = None
                if write:
                    n = 1 + sum(1 for s in stimuli if s.startswith(code + ARCHIVED_MARK))
                    existing.code = f"{code}{ARCHIVED_MARK}{n}"
                    db.session.flush()
                    stim = Stimulus(code=code, competency_id=existing.competency_id, title=title, body=body)
                    db.session.add(stim)
                    stimuli[existing.code] = existing
                    stimuli[code] = stim
                    replaced[code] = stim
        if write:
            db.session.flush()
        for raw in doc.items:
            fields = version_fields(raw)
            stim_id = stimuli[fields["stimulus"]].id if write and fields["stimulus"] else None
            status = raw.get("status", "draft")
            item = items.get(raw["id"])
            touched.add(raw["id"])
            if item is None:
                result.add("item", raw["id"], status, count_as="items")
                if write:
                    data = {k: v for k, v in fields.items() if k != "stimulus"}
                    item = Item(code=raw["id"], competency_id=comp.id, status=status, current_version=1,
                                author_id=actor_id)
                    item.versions.append(ItemVersion(version=1, created_by_id=actor_id, change_note="import",
                                                     stimulus_id=stim_id, **data))
                    db.session.add(item)
                    items[item.code] = item
                    new_items.append((item, status))
                continue
            if not update_existing:
                continue
            changed = _changed_fields(current_fields(item.current), fields, set(replaced))
            if changed:
                result.add("version", raw["id"], f"v{item.current_version + 1}: {', '.join(changed)}",
                           count_as="item_versions")
                if write:
                    _new_version(item, fields, stim_id, actor_id, "import")
            if item.status != status:
                result.add("status", raw["id"], f"{item.status} → {status}", count_as="status_changes")
                if write:
                    db.session.add(ItemStatusChange(item_id=item.id, from_status=item.status, to_status=status,
                                                    reason="import", actor_id=actor_id))
                    item.status = status
    # Items outside this import that show a replaced stimulus get a version showing the new one.
    if replaced:
        for item in items.values():
            if item.code in touched or not item.versions:
                continue
            code = stimulus_code(item.current.stimulus)
            if code in replaced:
                result.add("version", item.code, f"v{item.current_version + 1}: stimulus", count_as="item_versions")
                if write:
                    fields = current_fields(item.current)
                    _new_version(item, fields, replaced[code].id, actor_id, f"stimulus {code} changed")
    if write:
        db.session.flush()
        for item, status in new_items:
            db.session.add(ItemStatusChange(item_id=item.id, from_status=None, to_status=status,
                                            actor_id=actor_id, reason="import"))
        db.session.flush()
    return result


# ----------------------------------------------------------------------------- export
def export_content(competencies: Optional[Iterable[str]] = None) -> BankContent:
    """The bank in the database as content: catalog, then one document per competency.

    ``competencies`` limits it to those codes (the catalog keeps only their batteries).
    """
    wanted = set(competencies) if competencies else None
    batteries = db.session.execute(select(Battery).order_by(Battery.position, Battery.code)).scalars().all()
    catalog = []
    selected: list[Competency] = []
    for battery in batteries:
        comps = [c for c in sorted(battery.competencies, key=lambda c: (c.position, c.code))
                 if wanted is None or c.code in wanted]
        if not comps:
            continue
        bentry: dict[str, Any] = {"code": battery.code, "name_id": battery.name_id, "name_en": battery.name_en}
        if battery.source:
            bentry["source"] = battery.source
        bentry["competencies"] = []
        for comp in comps:
            centry: dict[str, Any] = {"code": comp.code, "name_id": comp.name_id, "name_en": comp.name_en,
                                      "item_type": comp.item_type, "model": comp.irt_model}
            if comp.cut_scores and [float(c) for c in comp.cut_scores] != DEFAULT_CUT_SCORES:
                centry["cut_scores"] = [float(c) for c in comp.cut_scores]
            if comp.description:
                centry["description"] = comp.description
            bentry["competencies"].append(centry)
            selected.append(comp)
        catalog.append(bentry)
    content = BankContent(catalog=catalog)
    comp_ids = [c.id for c in selected]
    all_items = db.session.execute(
        select(Item).where(Item.competency_id.in_(comp_ids)).order_by(Item.code)
        .options(selectinload(Item.versions).selectinload(ItemVersion.stimulus))).scalars().all()
    all_stimuli = db.session.execute(
        select(Stimulus).where(Stimulus.competency_id.in_(comp_ids)).order_by(Stimulus.code)).scalars().all()
    by_comp: dict[int, list[Item]] = {}
    for item in all_items:
        by_comp.setdefault(item.competency_id, []).append(item)
    for comp in selected:
        items = by_comp.get(comp.id, [])
        used = {item.current.stimulus.id: item.current.stimulus for item in items if item.current.stimulus}
        stims = {stimulus_code(s): s for s in used.values()}
        for s in all_stimuli:
            if s.competency_id == comp.id and ARCHIVED_MARK not in s.code:
                stims.setdefault(s.code, s)
        if not items and not stims:
            continue
        doc = BankDoc(file=f"{comp.battery.code}/{comp.code}.yaml", competency=comp.code)
        for code in sorted(stims):
            s = stims[code]
            entry: dict[str, Any] = {"id": code}
            if s.title:
                entry["title"] = s.title
            entry["body"] = s.body
            doc.stimuli.append(entry)
        doc.items = [item_to_raw(item) for item in items]
        content.docs.append(doc)
    return content


_PLAIN = re.compile(r"^[A-Za-z0-9À-ɏ][\w À-ɏ.,()/'&+-]*$")


def _scalar(value: Any) -> str:
    """One YAML scalar: plain when that reads back the same, double-quoted otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    text = str(value)
    if _PLAIN.match(text) and not text.endswith((" ", ":")) and ": " not in text and " #" not in text:
        try:
            if yaml.load(text, Loader=_Loader) == text:  # noqa: S506
                return text
        except yaml.YAMLError:
            pass
    return _quoted(text)


def _float(value: float) -> str:
    """Two decimals when that is exact (as authors write them), else the shortest exact form."""
    two = f"{value:.2f}"
    if float(two) == value and abs(value) < 1e6:
        return "0.00" if two == "-0.00" else two
    return yaml.safe_dump(value).split("\n", 1)[0]  # repr with a dot: YAML 1.1 reads it back


def _quoted(text: str) -> str:
    dumped = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=1_000_000)
    return dumped.rstrip("\n")


def _block(key: str, text: str, indent: int) -> list[str]:
    """``key: |`` with the text as a literal block when it reads back exactly (once stripped)."""
    pad = " " * indent
    lines = text.split("\n")
    literal_ok = (
        text and text == text.strip() and "\r" not in text and "\t" not in text
        and all(line == line.rstrip() for line in lines)
        and all(ch.isprintable() or ch == "\n" for ch in text)
    )
    if not literal_ok:
        return [f"{pad}{key}: {_quoted(text) if isinstance(text, str) else _scalar(text)}"]
    inner = " " * (indent + 2)
    return [f"{pad}{key}: |"] + [f"{inner}{line}" if line else "" for line in lines]


def _text_field(key: str, text: str, indent: int, quote: bool = False) -> list[str]:
    if "\n" in text:
        return _block(key, text, indent)
    return [f"{' ' * indent}{key}: {_quoted(text) if quote else _scalar(text)}"]


def _flow_list(values: list) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def dump_competency(doc: BankDoc) -> str:
    """One competency file in the canonical layout of item_bank/README.md."""
    out = [f"competency: {_scalar(doc.competency)}"]
    if doc.stimuli:
        out.append("stimuli:")
        for s in doc.stimuli:
            out.append(f"  - id: {_scalar(s['id'])}")
            if s.get("title"):
                out += _text_field("title", s["title"], 4)
            out += _block("body", s["body"], 4)
    out.append("items:" if doc.items else "items: []")
    for n, raw in enumerate(doc.items):
        if n:
            out.append("")
        out.append(f"  - id: {_scalar(raw['id'])}")
        for key in ("type", "level", "subdomain", "status", "stimulus"):
            if raw.get(key) is not None:
                out += _text_field(key, raw[key], 4) if isinstance(raw[key], str) else [f"    {key}: {_scalar(raw[key])}"]
        out += _block("stem", raw["stem"], 4)
        if raw.get("options"):
            out.append("    options:")
            for option in raw["options"]:
                first = _text_field("text", option["text"], 8, quote=True)
                first[0] = "      - " + first[0].lstrip()
                out += first
                if "score" in option:
                    out.append(f"        score: {option['score']}")
                if option.get("key"):
                    out.append("        key: true")
        if "reverse" in raw:
            out.append(f"    reverse: {_scalar(raw['reverse'])}")
        irt = raw["irt"]
        out.append("    irt:")
        out.append(f"      model: {irt['model']}")
        for key in ("a", "b", "c"):
            if key in irt:
                out.append(f"      {key}: {_scalar(float(irt[key]))}")
        if "thresholds" in irt:
            out.append(f"      thresholds: {_flow_list([float(t) for t in irt['thresholds']])}")
        if irt.get("calibrated"):
            out.append("      calibrated: true")
    return "\n".join(out) + "\n"


CATALOG_HEADER = (
    "# The batteries and competency scales of the bank (DOMAIN.md). One IRT scale per competency.\n"
    "# Item files live in <battery>/<competency code>.yaml (format: item_bank/README.md).\n"
)


def dump_catalog(catalog: list[dict]) -> str:
    out = [CATALOG_HEADER.rstrip("\n"), "batteries:"]
    for braw in catalog:
        out.append(f"  - code: {_scalar(braw['code'])}")
        for key in ("name_id", "name_en", "source"):
            if braw.get(key):
                out.append(f"    {key}: {_scalar(braw[key])}")
        out.append("    competencies:")
        for craw in braw["competencies"]:
            parts = [f"{k}: {_scalar(craw[k])}" for k in ("code", "name_id", "name_en", "item_type", "model")]
            if craw.get("cut_scores"):
                parts.append(f"cut_scores: {_flow_list(craw['cut_scores'])}")
            if craw.get("description"):
                parts.append(f"description: {_quoted(craw['description'])}")
            out.append("      - {" + ", ".join(parts) + "}")
    return "\n".join(out) + "\n"


def native_files(content: BankContent) -> dict[str, str]:
    """The native directory as ``{relative path: text}``: catalog.yaml and one file per competency."""
    files = {"catalog.yaml": dump_catalog(content.catalog or [])}
    for doc in content.docs:
        files[doc.file] = dump_competency(doc)
    return files


def write_bank_dir(content: BankContent, path: Path) -> list[Path]:
    path = Path(path)
    written = []
    for rel, text in native_files(content).items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def native_zip(content: BankContent, top: str = "item_bank") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, text in native_files(content).items():
            archive.writestr(f"{top}/{rel}", text)
    return buffer.getvalue()


EXPORT_FORMATS = ("yaml", "csv", "xlsx", "qti")


def export_bytes(fmt: str, competencies: Optional[Iterable[str]] = None) -> tuple[bytes, str, str]:
    """The bank in one format as (data, file name, MIME type)."""
    content = export_content(competencies)
    suffix = "-" + "-".join(sorted(competencies)) if competencies else ""
    if fmt == "yaml":
        return native_zip(content), f"item-bank{suffix}.zip", "application/zip"
    if fmt == "csv":
        from assess.services.bank_table import write_csv

        return write_csv(content), f"item-bank{suffix}.csv", "text/csv"
    if fmt == "xlsx":
        from assess.services.bank_table import write_xlsx

        return (write_xlsx(content), f"item-bank{suffix}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if fmt == "qti":
        from assess.services.bank_qti import write_qti

        return write_qti(content), f"item-bank-qti{suffix}.zip", "application/zip"
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")


def export_bank(path: Path, fmt: Optional[str] = None, competencies: Optional[Iterable[str]] = None) -> list[Path]:
    """Write the bank to ``path``: a directory (native) or a .csv, .xlsx or .zip (QTI) file."""
    path = Path(path)
    if fmt is None:
        fmt = {".csv": "csv", ".xlsx": "xlsx", ".zip": "qti"}.get(path.suffix.lower(), "yaml")
    if fmt == "yaml" and path.suffix.lower() != ".zip":
        return write_bank_dir(export_content(competencies), path)
    data, _name, _mime = export_bytes(fmt, competencies)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return [path]


# ----------------------------------------------------------------------------- IRT engine
def irt_record(code: str, version: ItemVersion) -> dict:
    """A version's parameters as a record for :meth:`assess.irt.ItemBank.from_records`."""
    record: dict[str, Any] = {"item_id": code, "model": version.irt_model,
                              "a": float(version.a if version.a is not None else 1.0)}
    if version.irt_model in DICHOTOMOUS:
        record["b"] = float(version.b)
        record["c"] = float(version.c or 0.0)
    else:
        record["thresholds"] = [float(t) for t in version.thresholds or []]
    return record


def irt_bank(pairs: Iterable[tuple[str, ItemVersion]]):
    """An :class:`assess.irt.ItemBank` of (code, version) pairs."""
    from assess.irt import ItemBank

    return ItemBank.from_records([irt_record(code, version) for code, version in pairs])
