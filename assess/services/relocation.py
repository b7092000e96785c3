"""Relocation planning: who of the ready ASN fits in the housing of each cluster and stage.

Per cluster, the ready participants (current placements with ``ready`` true) are ordered by the
priority of their unit (its own rank in the cluster, else its agency's; 1 first, unranked last),
then by talent box (9 first; no box last), then by JPM (highest first), then by name. They fill
the scheme's stages in that order: stage 1 takes the first ``capacity₁`` people, stage 2 the next
``capacity₂`` and so on; the rest wait. Two schemes can be compared side by side.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from assess.extensions import db
from assess.models import Agency, RelocationCapacity, RelocationScheme, TalentPlacement, Unit, User
from assess.services.talent_reports import Page

TP = TalentPlacement
CLUSTERS = (1, 2, 3, 4, 5)
MAX_STAGES = 4
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class PlanningError(Exception):
    def __init__(self, message, problems: Optional[dict] = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or {}


# ------------------------------------------------------------------------------ pure rules
def allocate(n_ready: int, capacities: Sequence[int]) -> tuple[list[int], int]:
    """How many of ``n_ready`` people fit in each stage, and how many wait."""
    fits, left = [], max(0, n_ready)
    for capacity in capacities:
        take = min(left, max(0, capacity))
        fits.append(take)
        left -= take
    return fits, left


def stage_of(rank: int, capacities: Sequence[int]) -> Optional[int]:
    """The stage (1-based) of the person at 0-based ``rank`` in the order, or None: waits."""
    end = 0
    for stage, capacity in enumerate(capacities, start=1):
        end += max(0, capacity)
        if rank < end:
            return stage
    return None


# ------------------------------------------------------------------------------ schemes
def capacities_of(scheme: RelocationScheme) -> dict[int, list[int]]:
    """{cluster: [capacity of stage 1, 2, ...]} over the scheme's stages (missing = 0)."""
    n_stages = max([len(scheme.stage_labels or [])] + [c.stage for c in scheme.capacities] + [1])
    caps = {cluster: [0] * n_stages for cluster in CLUSTERS}
    for c in scheme.capacities:
        caps[c.cluster][c.stage - 1] = c.capacity
    return caps


def save_scheme(scheme: Optional[RelocationScheme], *, code: str, name: str, movers: Optional[int],
                description: Optional[str], stage_labels: Sequence[str],
                capacities: Mapping[tuple[int, int], Optional[int]], actor: Optional[User] = None) -> RelocationScheme:
    """Create or update a scheme; ``capacities`` maps (cluster, stage) to housing (None: 0)."""
    problems = {}
    code, name = (code or "").strip(), " ".join((name or "").split())
    if not CODE_RE.match(code):
        problems["code"] = _l("A code has up to 40 letters, digits, dots, dashes or underscores.")
    else:
        other = db.session.execute(select(RelocationScheme).where(RelocationScheme.code == code)).scalar_one_or_none()
        if other is not None and other is not scheme:
            problems["code"] = _l("Another scheme already has this code.")
    if not name or len(name) > 200:
        problems["name"] = _l("A name of up to 200 characters is required.")
    if movers is not None and movers < 0:
        problems["movers"] = _l("The number of movers cannot be negative.")
    labels = [(label or "").strip()[:40] for label in stage_labels]
    while labels and not labels[-1]:
        labels.pop()
    used_stages = {stage for (cluster, stage), cap in capacities.items() if cap}
    n_stages = max([len(labels)] + list(used_stages) + [1])
    if n_stages > MAX_STAGES:
        problems["stages"] = _l("At most %(n)d stages.", n=MAX_STAGES)
    for (cluster, stage), cap in capacities.items():
        if cluster not in CLUSTERS or not 1 <= stage <= MAX_STAGES:
            problems["capacities"] = _l("Capacities are per cluster 1-5 and stage 1-%(n)d.", n=MAX_STAGES)
        elif cap is not None and cap < 0:
            problems["capacities"] = _l("Capacities cannot be negative.")
    if problems:
        raise PlanningError(_l("The scheme has problems; nothing was saved."), problems)
    created = scheme is None
    if created:
        scheme = RelocationScheme(created_by_id=actor.id if actor is not None else None)
        db.session.add(scheme)
    scheme.code, scheme.name, scheme.movers = code, name, movers
    scheme.description = (description or "").strip() or None
    scheme.stage_labels = labels + [""] * (n_stages - len(labels))
    wanted = {(cl, st): int(cap or 0) for (cl, st), cap in capacities.items() if st <= n_stages}
    for row in list(scheme.capacities):
        if (row.cluster, row.stage) not in wanted:
            scheme.capacities.remove(row)
    have = {(row.cluster, row.stage): row for row in scheme.capacities}
    for (cluster, stage), cap in sorted(wanted.items()):
        if (cluster, stage) in have:
            have[(cluster, stage)].capacity = cap
        else:
            scheme.capacities.append(RelocationCapacity(cluster=cluster, stage=stage, capacity=cap))
    db.session.flush()
    from assess.services import audit

    audit.record("talent.scheme_create" if created else "talent.scheme_update", actor=actor, target=scheme,
                 detail={"code": code, "capacities": {f"{c}/{s}": v for (c, s), v in sorted(wanted.items())}})
    return scheme


def delete_scheme(scheme: RelocationScheme, *, actor: Optional[User] = None) -> None:
    from assess.services import audit

    audit.record("talent.scheme_delete", actor=actor, target=scheme, detail={"code": scheme.code})
    db.session.delete(scheme)
    db.session.flush()


def schemes() -> list[RelocationScheme]:
    return list(db.session.execute(select(RelocationScheme).order_by(RelocationScheme.code)).scalars())


# ------------------------------------------------------------------------------ the plan
def ready_counts(settings_id: Optional[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(TP.cluster, func.count(TP.id)).where(TP.settings_id == settings_id, TP.is_current.is_(True),
                                                    TP.ready.is_(True)).group_by(TP.cluster)).all()
    return {cluster: n for cluster, n in rows if cluster is not None}


@dataclass
class ClusterPlan:
    cluster: int
    ready: int
    capacities: list[int]
    fits: list[int]
    waiting: int

    @property
    def capacity(self) -> int:
        return sum(self.capacities)

    @property
    def moving(self) -> int:
        return sum(self.fits)


@dataclass
class SchemePlan:
    scheme: RelocationScheme
    clusters: list[ClusterPlan] = field(default_factory=list)

    @property
    def ready(self) -> int:
        return sum(c.ready for c in self.clusters)

    @property
    def moving(self) -> int:
        return sum(c.moving for c in self.clusters)

    @property
    def waiting(self) -> int:
        return sum(c.waiting for c in self.clusters)

    @property
    def capacity(self) -> int:
        return sum(c.capacity for c in self.clusters)


def plan(scheme: RelocationScheme, counts: Mapping[int, int]) -> SchemePlan:
    caps = capacities_of(scheme)
    result = SchemePlan(scheme)
    for cluster in CLUSTERS:
        fits, waiting = allocate(counts.get(cluster, 0), caps[cluster])
        result.clusters.append(ClusterPlan(cluster, counts.get(cluster, 0), caps[cluster], fits, waiting))
    return result


def priority_order(query):
    """Order ready participants: unit priority (else agency's), box, JPM, name."""
    priority = func.coalesce(Unit.priority, Agency.priority)
    return query.order_by(priority.asc().nulls_last(), TP.box.desc().nulls_last(), TP.jpm.desc().nulls_last(),
                          User.name, User.id)


def ordered_ready(settings_id: Optional[int], cluster: int, page: int = 1, per_page: int = 100) -> Page:
    """One page of a cluster's ready participants in relocation order: (rank, TP, User, Agency, Unit)."""
    base = (select(TP, User, Agency, Unit).select_from(TP).join(User, TP.user_id == User.id)
            .outerjoin(Agency, User.agency_id == Agency.id).outerjoin(Unit, User.unit_id == Unit.id)
            .where(TP.settings_id == settings_id, TP.is_current.is_(True), TP.ready.is_(True), TP.cluster == cluster))
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    offset = (page - 1) * per_page
    rows = db.session.execute(priority_order(base).offset(offset).limit(per_page)).all()
    return Page(items=[(offset + i, *row) for i, row in enumerate(rows)], page=page, per_page=per_page, total=total)
