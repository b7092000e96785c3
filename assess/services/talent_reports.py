"""Reading the talent map: filters, the dashboard's counts, the people of a box.

The scope of every report is one settings version (by default the newest that has placements)
and, per participant, the current placement (their latest attempt) or, with a wave filter, the
placement of that wave. Counts come from grouped SQL queries, so they cost the same for 50 or
180,000 participants.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Optional

from sqlalchemy import and_, func, select

from assess.extensions import db
from assess.models import (
    JOB_LEVELS, Agency, Battery, Competency, Enrollment, Score, TalentPlacement, TalentSettings, Unit,
    User, Wave,
)
from assess.services.talent import GRID, TALENT_POOL, latest_settings
from assess.services.tabular import whole_number

TP = TalentPlacement


@dataclass
class Filters:
    """Cluster, agency, unit, job level, wave and settings version; None means all."""

    cluster: Optional[int] = None
    agency_id: Optional[int] = None
    unit_id: Optional[int] = None
    job_level: Optional[str] = None
    wave_id: Optional[int] = None
    version: Optional[int] = None

    @classmethod
    def from_args(cls, args: Mapping) -> "Filters":
        job = args.get("job_level") or None
        return cls(cluster=whole_number(args.get("cluster"), 1, 5), agency_id=whole_number(args.get("agency")),
                   unit_id=whole_number(args.get("unit")), job_level=job if job in JOB_LEVELS else None,
                   wave_id=whole_number(args.get("wave")), version=whole_number(args.get("version")))

    def unread(self, args: Mapping) -> list[str]:
        """The filters given in ``args`` that could not be read: they must not silently widen the scope."""
        names = {"cluster": "cluster", "agency": "agency_id", "unit": "unit_id", "job_level": "job_level",
                 "wave": "wave_id", "version": "version"}
        return [name for name, attr in names.items() if args.get(name) and getattr(self, attr) is None]

    def as_args(self, **override) -> dict:
        names = {"cluster": "cluster", "agency_id": "agency", "unit_id": "unit", "job_level": "job_level",
                 "wave_id": "wave", "version": "version"}
        values = {**asdict(self), **override}
        return {names[k]: v for k, v in values.items() if v not in (None, "")}

    def describe(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def settings_for(filters: Filters) -> Optional[TalentSettings]:
    """The settings version of the report: the one asked for, else the newest with placements,
    else the newest at all (None when there are none)."""
    if filters.version is not None:
        return db.session.execute(select(TalentSettings).where(TalentSettings.version == filters.version)).scalar_one_or_none()
    row = db.session.execute(
        select(TalentSettings).where(select(TP.id).where(TP.settings_id == TalentSettings.id).exists())
        .order_by(TalentSettings.version.desc()).limit(1)).scalar_one_or_none()
    return row or latest_settings()


def _placement_condition(filters: Filters, settings_id: Optional[int]):
    which = TP.wave_id == filters.wave_id if filters.wave_id else TP.is_current.is_(True)
    return and_(TP.settings_id == settings_id, which)


CLUSTER_OF_PERSON = func.coalesce(TP.cluster, Unit.cluster, Agency.cluster)


def people_scope(filters: Filters, settings_id: Optional[int], *columns):
    """Participants in scope, each with their placement when they have one (outer join)."""
    query = (select(*columns).select_from(User)
             .outerjoin(Agency, User.agency_id == Agency.id).outerjoin(Unit, User.unit_id == Unit.id)
             .outerjoin(TP, and_(TP.user_id == User.id, _placement_condition(filters, settings_id)))
             .where(User.role == "participant"))
    if filters.cluster:
        query = query.where(CLUSTER_OF_PERSON == filters.cluster)
    return _common(query, filters, enrolled=True)


def placements_scope(filters: Filters, settings_id: Optional[int], *columns):
    """Placements in scope (inner join: assessed participants only)."""
    query = (select(*columns).select_from(TP).join(User, TP.user_id == User.id)
             .outerjoin(Agency, User.agency_id == Agency.id).outerjoin(Unit, User.unit_id == Unit.id)
             .where(_placement_condition(filters, settings_id)))
    if filters.cluster:
        query = query.where(TP.cluster == filters.cluster)
    return _common(query, filters, enrolled=False)


def _common(query, filters: Filters, enrolled: bool):
    if filters.agency_id:
        query = query.where(User.agency_id == filters.agency_id)
    if filters.unit_id:
        query = query.where(User.unit_id == filters.unit_id)
    if filters.job_level:
        query = query.where(User.job_level == filters.job_level)
    if filters.wave_id and enrolled:
        query = query.where(select(Enrollment.id).where(Enrollment.wave_id == filters.wave_id,
                                                        Enrollment.user_id == User.id).exists())
    return query


# ------------------------------------------------------------------------------ tallies
@dataclass
class Tally:
    """Counts of one group of participants (a cluster, an agency, a unit, everyone)."""

    people: int = 0
    placed: int = 0
    boxes: Counter = field(default_factory=Counter)
    bands: Counter = field(default_factory=Counter)
    ready: Counter = field(default_factory=Counter)

    def add(self, box, band, ready, people: int, placed: int) -> None:
        self.people += people
        self.placed += placed
        if placed:
            self.boxes[box] += placed
            self.bands[band] += placed
            self.ready[ready] += placed

    @property
    def pending(self) -> int:
        return self.people - self.placed

    @property
    def boxed(self) -> int:
        return sum(n for box, n in self.boxes.items() if box is not None)

    @property
    def no_box(self) -> int:
        return self.boxes.get(None, 0)

    @property
    def pool(self) -> int:
        return sum(self.boxes.get(b, 0) for b in TALENT_POOL)

    def box_share(self, box: int) -> float:
        return 100.0 * self.boxes.get(box, 0) / self.boxed if self.boxed else 0.0

    def band_share(self, band) -> float:
        return 100.0 * self.bands.get(band, 0) / self.placed if self.placed else 0.0

    def heat(self, box: int) -> int:
        """A heat class 0-5 from the box's share of boxed placements."""
        share = self.box_share(box)
        if not self.boxes.get(box):
            return 0
        for level, limit in ((1, 5), (2, 10), (3, 20), (4, 35)):
            if share < limit:
                return level
        return 5

    def grid(self) -> list[list[dict]]:
        """The 9-box as rows (performance, top first) of cells (potential, left first)."""
        return [[{"box": box, "count": self.boxes.get(box, 0), "share": self.box_share(box), "heat": self.heat(box),
                  "pool": box in TALENT_POOL} for box in row] for row in GRID]


@dataclass
class GroupRow:
    key: Any
    code: Optional[str]
    name: Optional[str]
    tally: Tally


def aggregate(filters: Filters, settings_id: Optional[int], by: str = "cluster") -> tuple[Tally, list[GroupRow]]:
    """The overall tally and one per group (``by`` = cluster, agency or unit), in one query."""
    keys = {
        "cluster": [CLUSTER_OF_PERSON.label("k"), CLUSTER_OF_PERSON.label("code"), CLUSTER_OF_PERSON.label("name")],
        "agency": [Agency.id.label("k"), Agency.code.label("code"), Agency.name.label("name")],
        "unit": [Unit.id.label("k"), Unit.code.label("code"), Unit.name.label("name")],
    }[by]
    query = people_scope(filters, settings_id, *keys, TP.box, TP.band, TP.ready,
                         func.count(User.id), func.count(TP.id))
    query = query.group_by(*[k.element if hasattr(k, "element") else k for k in keys], TP.box, TP.band, TP.ready)
    total = Tally()
    groups: dict[Any, GroupRow] = {}
    for key, code, name, box, band, ready, people, placed in db.session.execute(query):
        total.add(box, band, ready, people, placed)
        row = groups.get(key)
        if row is None:
            row = groups[key] = GroupRow(key, code, name, Tally())
        row.tally.add(box, band, ready, people, placed)
    ordered = sorted(groups.values(), key=lambda g: (g.key is None, str(g.code or "") if by != "cluster" else g.key or 0))
    return total, ordered


def level_distribution(filters: Filters, settings_id: Optional[int]) -> list[dict]:
    """Per competency (bank order): how many assessed participants reached each level 1-5."""
    query = placements_scope(filters, settings_id, Score.competency_id, Score.level, func.count(Score.id))
    query = query.join(Score, Score.attempt_id == TP.attempt_id).group_by(Score.competency_id, Score.level)
    counts: dict[int, Counter] = {}
    for competency_id, level, n in db.session.execute(query):
        counts.setdefault(competency_id, Counter())[level] = n
    if not counts:
        return []
    competencies = db.session.execute(
        select(Competency).join(Battery, Competency.battery_id == Battery.id)
        .where(Competency.id.in_(counts)).order_by(Battery.position, Competency.position, Competency.code)).scalars()
    rows = []
    for competency in competencies:
        c = counts[competency.id]
        total = sum(c.values())
        rows.append({"competency": competency, "total": total,
                     "levels": [{"level": lv, "count": c.get(lv, 0), "share": 100.0 * c.get(lv, 0) / total if total else 0.0,
                                 "heat": _heat_share(100.0 * c.get(lv, 0) / total if total else 0.0)} for lv in range(1, 6)]})
    return rows


def _heat_share(share: float) -> int:
    if share <= 0:
        return 0
    for level, limit in ((1, 10), (2, 20), (3, 35), (4, 50)):
        if share < limit:
            return level
    return 5


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def box_people(filters: Filters, settings_id: Optional[int], box: int, page: int = 1, per_page: int = 50) -> Page:
    """The participants in one box (0: placed without a box, "data incomplete"), by name."""
    condition = TP.box.is_(None) if box == 0 else TP.box == box
    total = db.session.scalar(placements_scope(filters, settings_id, func.count(TP.id)).where(condition)) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(
        placements_scope(filters, settings_id, TP, User, Agency, Unit).where(condition)
        .order_by(User.name, User.nip).offset((page - 1) * per_page).limit(per_page)).all()
    return Page(items=[tuple(r) for r in rows], page=page, per_page=per_page, total=total)


def filter_choices(filters: Filters) -> dict:
    """Options of the filter form: agencies (of the chosen cluster), units (of the chosen agency),
    waves and settings versions."""
    agencies = select(Agency).order_by(Agency.code)
    if filters.cluster:
        agencies = agencies.where(Agency.cluster == filters.cluster)
    units = []
    if filters.agency_id:
        units = list(db.session.execute(select(Unit).where(Unit.agency_id == filters.agency_id).order_by(Unit.code)).scalars())
    return {
        "agencies": list(db.session.execute(agencies).scalars()),
        "units": units,
        "waves": list(db.session.execute(select(Wave).order_by(Wave.opens_at.desc())).scalars()),
        "versions": list(db.session.execute(select(TalentSettings).order_by(TalentSettings.version.desc())).scalars()),
        "job_levels": list(JOB_LEVELS),
    }
