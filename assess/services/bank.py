"""The item bank: loading the YAML bank format (item_bank/README.md) with strict validation.

Every problem in every file is collected before anything is written: an import applies entirely
or changes nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from assess.extensions import db
from assess.models import Battery, Competency, Item, ItemStatusChange, ItemVersion, Stimulus, User
from assess.models.bank import IRT_MODELS, ITEM_STATUSES, ITEM_TYPES

MAX_FILE_BYTES = 2 * 1024 * 1024
A_MAX = 4.0
B_MAX = 6.0
C_MAX = 0.5
DICHOTOMOUS = ("rasch", "2pl", "3pl")
POLYTOMOUS = ("grm", "gpcm")
LIKERT_OPTIONS = 5


@dataclass(frozen=True)
class BankProblem:
    file: str
    item: Optional[str]
    field: Optional[str]
    message: Any  # a lazy translated string

    def __str__(self) -> str:
        where = self.file + (f", item {self.item}" if self.item else "") + (f", field {self.field}" if self.field else "")
        return f"{where}: {self.message}"


class BankValidationError(ValueError):
    def __init__(self, problems: list[BankProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ImportResult:
    counts: dict = field(default_factory=dict)
    dry_run: bool = False

    def bump(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_item(raw: dict, competency: dict, problems: list, fname: str, stimuli: set) -> None:
    """Check one item dict against the format; append a BankProblem for each violation."""
    iid = str(raw.get("id") or "?")

    def bad(fld, msg):
        problems.append(BankProblem(fname, iid, fld, msg))

    itype = raw.get("type")
    if itype not in ITEM_TYPES:
        bad("type", _l("unknown item type %(t)r (expected mc, sjt or likert)", t=itype))
        return
    level = raw.get("level")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 5:
        bad("level", _l("level must be an integer from 1 to 5"))
    status = raw.get("status", "draft")
    if status not in ITEM_STATUSES:
        bad("status", _l("unknown status %(s)r", s=status))
    stem = raw.get("stem")
    if not isinstance(stem, str) or not stem.strip():
        bad("stem", _l("the stem is empty"))
    elif "<script" in stem.lower() or "javascript:" in stem.lower():
        bad("stem", _l("unsafe HTML in the stem"))
    if raw.get("stimulus") is not None and raw["stimulus"] not in stimuli:
        bad("stimulus", _l("unknown stimulus %(s)r", s=raw["stimulus"]))
    options = raw.get("options") or []
    if itype == "mc":
        if not 3 <= len(options) <= 5:
            bad("options", _l("a multiple-choice item needs 3 to 5 options"))
        keys = sum(1 for o in options if isinstance(o, dict) and o.get("key") is True)
        if keys == 0:
            bad("options", _l("no option is marked as the key"))
        elif keys > 1:
            bad("options", _l("%(n)d options are marked as the key; exactly one is allowed", n=keys))
    elif itype == "sjt":
        if not 4 <= len(options) <= 5:
            bad("options", _l("a situational judgement item needs 4 or 5 options"))
        scores = [o.get("score") if isinstance(o, dict) else None for o in options]
        if any(not isinstance(s, int) or isinstance(s, bool) or not 1 <= s <= 5 for s in scores):
            bad("options", _l("every option score must be an integer from 1 to 5"))
        elif len(set(scores)) != len(scores):
            bad("options", _l("option scores must be distinct"))
    elif itype == "likert":
        if options and len(options) != LIKERT_OPTIONS:
            bad("options", _l("a Likert item has exactly 5 options"))
    for n, option in enumerate(options, start=1):
        text = option.get("text") if isinstance(option, dict) else None
        if not isinstance(text, str) or not text.strip():
            bad(f"options[{n}]", _l("the option text is empty"))
        elif "<script" in text.lower() or "javascript:" in text.lower():
            bad(f"options[{n}]", _l("unsafe HTML in an option"))

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
    a = irt.get("a", 1.0 if model == "rasch" else None)
    if not _num(a) or not 0 < a <= A_MAX:
        bad("irt.a", _l("slope a must be a number above 0 and at most %(max)s", max=A_MAX))
    if model in DICHOTOMOUS:
        b = irt.get("b")
        if not _num(b) or abs(b) > B_MAX:
            bad("irt.b", _l("difficulty b must be a number between -6 and 6"))
        c = irt.get("c", 0.0)
        if model == "3pl" and (not _num(c) or not 0 <= c < C_MAX):
            bad("irt.c", _l("guessing c must be at least 0 and below 0.5"))
    else:
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


def read_bank_dir(path: Path) -> tuple[dict, list[dict], list[BankProblem]]:
    """Parse catalog.yaml and every <battery>/<code>.yaml; return (catalog, files, problems)."""
    problems: list[BankProblem] = []
    catalog_path = path / "catalog.yaml"
    if not catalog_path.is_file():
        return {}, [], [BankProblem(str(catalog_path), None, None, _l("catalog.yaml is missing"))]
    catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    competencies = {c["code"]: (b, c) for b in catalog["batteries"] for c in b["competencies"]}
    files = []
    seen_ids: dict[str, str] = {}
    for fpath in sorted(path.glob("*/*.yaml")):
        fname = str(fpath.relative_to(path))
        if fpath.stat().st_size > MAX_FILE_BYTES:
            problems.append(BankProblem(fname, None, None, _l("the file is larger than %(n)d bytes", n=MAX_FILE_BYTES)))
            continue
        try:
            doc = yaml.safe_load(fpath.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            problems.append(BankProblem(fname, None, None, _l("not valid YAML: %(e)s", e=str(error).splitlines()[0])))
            continue
        if not isinstance(doc, dict) or doc.get("competency") not in competencies:
            problems.append(BankProblem(fname, None, "competency", _l("unknown competency %(c)r", c=(doc or {}).get("competency") if isinstance(doc, dict) else None)))
            continue
        battery, competency = competencies[doc["competency"]]
        stimuli = {s.get("id") for s in doc.get("stimuli") or []}
        for raw in doc.get("items") or []:
            iid = raw.get("id")
            if not isinstance(iid, str) or not iid.startswith(doc["competency"] + "-"):
                problems.append(BankProblem(fname, str(iid), "id", _l("item ids must start with the competency code and a dash")))
            elif iid in seen_ids:
                problems.append(BankProblem(fname, iid, "id", _l("duplicate item id (also in %(f)s)", f=seen_ids[iid])))
            else:
                seen_ids[iid] = fname
            validate_item(raw, competency, problems, fname, stimuli)
        files.append({"file": fname, "battery": battery, "competency": competency, "doc": doc})
    return catalog, files, problems


def _options_for_db(raw: dict) -> list[dict]:
    if raw["type"] == "mc":
        return [{"text": o["text"].strip(), "score": 1 if o.get("key") is True else 0} for o in raw["options"]]
    if raw["type"] == "sjt":
        return [{"text": o["text"].strip(), "score": int(o["score"])} for o in raw["options"]]
    return []


def _version_fields(raw: dict, stimulus_id: Optional[int]) -> dict:
    irt = raw["irt"]
    model = irt["model"]
    return dict(
        item_type=raw["type"], level=raw["level"], subdomain=raw.get("subdomain"),
        stimulus_id=stimulus_id, stem=raw["stem"].strip(), options=_options_for_db(raw),
        reverse_keyed=bool(raw.get("reverse", False)), irt_model=model,
        a=float(irt.get("a", 1.0)),
        b=float(irt["b"]) if model in DICHOTOMOUS else None,
        c=float(irt.get("c", 0.0)) if model in DICHOTOMOUS else None,
        thresholds=[float(t) for t in irt["thresholds"]] if model in POLYTOMOUS else None,
        calibrated=bool(irt.get("calibrated", False)),
    )


def import_bank(path: Path, *, actor: Optional[User], update_existing: bool = True,
                dry_run: bool = False) -> ImportResult:
    """Validate the whole bank directory, then create what is new (and version what changed).

    Raises :class:`BankValidationError` with every problem found; nothing is written then.
    The caller commits (or rolls back for a dry run).
    """
    catalog, files, problems = read_bank_dir(Path(path))
    if problems:
        raise BankValidationError(problems)
    result = ImportResult(dry_run=dry_run)
    batteries = {b.code: b for b in db.session.execute(select(Battery)).scalars()}
    competencies = {c.code: c for c in db.session.execute(select(Competency)).scalars()}
    for bpos, braw in enumerate(catalog["batteries"]):
        battery = batteries.get(braw["code"])
        if battery is None:
            battery = Battery(code=braw["code"], name_id=braw["name_id"], name_en=braw["name_en"],
                              source=braw.get("source"), position=bpos)
            db.session.add(battery)
            batteries[battery.code] = battery
            result.bump("batteries")
        for cpos, craw in enumerate(braw["competencies"]):
            if craw["code"] not in competencies:
                comp = Competency(code=craw["code"], name_id=craw["name_id"], name_en=craw["name_en"],
                                  item_type=craw["item_type"], irt_model=craw["model"],
                                  battery=battery, position=cpos)
                db.session.add(comp)
                competencies[comp.code] = comp
                result.bump("competencies")
    db.session.flush()
    items = {i.code: i for i in db.session.execute(select(Item)).scalars()}
    stimuli = {s.code: s for s in db.session.execute(select(Stimulus)).scalars()}
    for entry in files:
        doc = entry["doc"]
        comp = competencies[doc["competency"]]
        for sraw in doc.get("stimuli") or []:
            stim = stimuli.get(sraw["id"])
            if stim is None:
                stim = Stimulus(code=sraw["id"], competency_id=comp.id, title=sraw.get("title"),
                                body=sraw["body"])
                db.session.add(stim)
                stimuli[stim.code] = stim
                result.bump("stimuli")
            elif update_existing and (stim.body != sraw["body"] or stim.title != sraw.get("title")):
                stim.body, stim.title = sraw["body"], sraw.get("title")
        db.session.flush()
        for raw in doc.get("items") or []:
            stim_id = stimuli[raw["stimulus"]].id if raw.get("stimulus") else None
            fields = _version_fields(raw, stim_id)
            item = items.get(raw["id"])
            status = raw.get("status", "draft")
            if item is None:
                item = Item(code=raw["id"], competency_id=comp.id, status=status, current_version=1,
                            author_id=actor.id if actor else None)
                item.versions.append(ItemVersion(version=1, created_by_id=actor.id if actor else None,
                                                 change_note="import", **fields))
                db.session.add(item)
                db.session.flush()
                db.session.add(ItemStatusChange(item_id=item.id, from_status=None, to_status=status,
                                                actor_id=actor.id if actor else None, reason="import"))
                items[item.code] = item
                result.bump("items")
            elif update_existing:
                current = item.current
                if any(getattr(current, k) != v for k, v in fields.items()):
                    item.current_version += 1
                    item.versions.append(ItemVersion(version=item.current_version, change_note="import",
                                                     created_by_id=actor.id if actor else None, **fields))
                    result.bump("item_versions")
                if item.status != status:
                    db.session.add(ItemStatusChange(item_id=item.id, from_status=item.status,
                                                    to_status=status, reason="import",
                                                    actor_id=actor.id if actor else None))
                    item.status = status
    db.session.flush()
    return result
