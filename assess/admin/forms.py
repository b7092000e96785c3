"""Forms of the admin pages (the item bank)."""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, HiddenField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from assess.forms_i18n import AppForm
from assess.models.bank import IRT_MODELS

N_OPTIONS = 5
SCORE_CHOICES = [("", "—")] + [(str(n), str(n)) for n in range(1, 6)]
_DECIMAL_COMMA = re.compile(r"^[+\-]?\d+,\d+$")


def _number(text: str | None) -> Any:
    """A number typed by a person (1.25, 1,25 or −1.25); other text is returned for the validator."""
    text = (text or "").strip().replace("−", "-")
    if not text:
        return None
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return text


def _numbers(text: str | None) -> Any:
    text = (text or "").strip()
    if not text:
        return None
    parts = [p for p in re.split(r"[;\s]+|,\s+", text) if p]
    return [_number(p) for p in parts]


def _show(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class ItemForm(AppForm):
    """One item: content, scoring and IRT parameters. Checked by the bank's own validator."""

    competency = SelectField(_l("Competency"), validate_choice=False)
    type = SelectField(_l("Item type"), choices=[
        ("mc", _l("Multiple choice (one key)")), ("sjt", _l("Situational judgement (each option 1-5)")),
        ("likert", _l("Likert 1-5 (self-report)"))])
    level = SelectField(_l("Target proficiency level"), choices=[(str(n), str(n)) for n in range(1, 6)])
    subdomain = StringField(_l("Subdomain or indicator"), validators=[Optional(), Length(max=200)])
    stimulus = SelectField(_l("Shared stimulus"), validate_choice=False)
    stem = TextAreaField(_l("Stem"), description=_l("Markdown: **bold**, *italic*, lists and tables. HTML is not allowed."))
    key = RadioField(_l("Key"), choices=[(str(n), str(n)) for n in range(1, N_OPTIONS + 1)], validate_choice=False)
    reverse = BooleanField(_l("Reverse-keyed (scored 6 − answer)"))
    model = SelectField(_l("IRT model"), choices=[(m, m.upper() if m != "rasch" else "Rasch") for m in IRT_MODELS])
    a = StringField(_l("Slope a"))
    b = StringField(_l("Difficulty b"))
    c = StringField(_l("Guessing c"))
    thresholds = StringField(_l("Thresholds b1 … b(K−1)"),
                             description=_l("Separated by spaces or semicolons, e.g. -1.5; -0.5; 0.5; 1.5"))
    note = StringField(_l("What changed and why"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save"))

    def option_fields(self) -> list[tuple[Any, Any]]:
        return [(getattr(self, f"option_{n}"), getattr(self, f"score_{n}")) for n in range(1, N_OPTIONS + 1)]

    def to_raw(self) -> dict:
        """The item as a dict of the bank file format (item_bank/README.md)."""
        itype = self.type.data
        raw: dict[str, Any] = {"type": itype, "level": int(self.level.data) if (self.level.data or "").isdigit() else self.level.data}
        if (self.subdomain.data or "").strip():
            raw["subdomain"] = self.subdomain.data.strip()
        if self.stimulus.data:
            raw["stimulus"] = self.stimulus.data
        raw["stem"] = self.stem.data or ""
        filled = [(n, text.data, score.data) for n, (text, score) in enumerate(self.option_fields(), start=1)
                  if (text.data or "").strip()]
        if itype == "mc":
            raw["options"] = [{"text": t, **({"key": True} if self.key.data == str(n) else {})} for n, t, _s in filled]
        elif itype == "sjt":
            raw["options"] = [{"text": t, **({"score": int(s)} if s else {})} for _n, t, s in filled]
        else:
            if filled:
                raw["options"] = [{"text": t} for _n, t, _s in filled]
            raw["reverse"] = bool(self.reverse.data)
        model = self.model.data
        irt: dict[str, Any] = {"model": model}
        if _number(self.a.data) is not None:
            irt["a"] = _number(self.a.data)
        if model in ("rasch", "2pl", "3pl"):
            irt["b"] = _number(self.b.data)
            if model == "3pl":
                irt["c"] = _number(self.c.data)
        else:
            irt["thresholds"] = _numbers(self.thresholds.data)
        raw["irt"] = irt
        return raw

    def fill(self, raw: dict) -> None:
        """Pre-fill from an item dict (a GET of the edit page)."""
        self.type.data = raw["type"]
        self.level.data = str(raw["level"])
        self.subdomain.data = raw.get("subdomain") or ""
        self.stimulus.data = raw.get("stimulus") or ""
        self.stem.data = raw["stem"]
        for n, option in enumerate(raw.get("options") or [], start=1):
            getattr(self, f"option_{n}").data = option["text"]
            if "score" in option:
                getattr(self, f"score_{n}").data = str(option["score"])
            if option.get("key"):
                self.key.data = str(n)
        self.reverse.data = bool(raw.get("reverse"))
        irt = raw["irt"]
        self.model.data = irt["model"]
        self.a.data = _show(irt.get("a"))
        self.b.data = _show(irt.get("b"))
        self.c.data = _show(irt.get("c"))
        self.thresholds.data = "; ".join(_show(t) for t in irt.get("thresholds") or [])

    FIELD_OF = {"type": "type", "level": "level", "subdomain": "subdomain", "stem": "stem",
                "stimulus": "stimulus", "reverse": "reverse", "irt.model": "model", "irt.a": "a",
                "irt.b": "b", "irt.c": "c", "irt.thresholds": "thresholds",
                **{f"options[{n}]": f"option_{n}" for n in range(1, N_OPTIONS + 1)}}

    def add_problems(self, problems) -> list:
        """Attach the validator's problems to their fields; return those that belong to none."""
        loose = []
        for problem in problems:
            name = self.FIELD_OF.get(problem.field or "")
            field = getattr(self, name, None) if name else None
            if field is None:
                loose.append(problem)
                continue
            field.errors = list(field.errors) + [problem.message]
        return loose


for _n in range(1, N_OPTIONS + 1):
    setattr(ItemForm, f"option_{_n}", TextAreaField(_l("Option %(n)d", n=_n), validators=[Optional(), Length(max=2000)]))
    setattr(ItemForm, f"score_{_n}", SelectField(_l("Score of option %(n)d", n=_n), choices=SCORE_CHOICES))


class TransitionForm(AppForm):
    to_status = HiddenField(validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=1000)])


class ImportForm(AppForm):
    file = FileField(_l("Bank file"), validators=[FileRequired(_l("Choose a file."))],
                     description=_l(".xlsx or .csv (one row per item), .yaml (one competency), or .zip "
                                    "(a bank folder, or a QTI 3.0 / 2.x package)"))
    competency = SelectField(_l("Competency for QTI items from other tools"), validate_choice=False)
    new_only = BooleanField(_l("Add new items only; leave existing items unchanged"))
    dry_run = BooleanField(_l("Dry run: check the file and list the changes, write nothing"), default=True)
    submit = SubmitField(_l("Import"))


class CalibrationForm(AppForm):
    min_responses = IntegerField(_l("Minimum responses per item"), default=50,
                                 validators=[InputRequired(), NumberRange(min=1, max=1_000_000)])
    submit = SubmitField(_l("Start calibration"))


class AcceptForm(AppForm):
    submit = SubmitField(_l("Accept the selected parameters as new versions"))
