"""The admin's pages: the dashboard and the audit log."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from assess.auth.access import admin_required
from assess.extensions import db
from assess.models import Agency, AuditLog, Battery, Competency, Item, Unit, User
from assess.services.bank_authoring import STATUS_LABELS

bp = Blueprint("admin", __name__)


@bp.after_request
def audit_admin_actions(response):
    """Every state-changing admin request that succeeded leaves an audit row."""
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
        from assess.services import audit

        audit.record(f"admin.{request.endpoint}", detail={"path": request.path,
                                                          "method": request.method})
        db.session.commit()
    return response


@bp.route("/")
@admin_required
def dashboard():
    clusters = db.session.execute(
        select(Agency.cluster, func.count(func.distinct(Agency.id)), func.count(User.id))
        .outerjoin(User, (User.agency_id == Agency.id) & (User.role == "participant"))
        .group_by(Agency.cluster).order_by(Agency.cluster)
    ).all()
    bank = db.session.execute(
        select(Battery.code, Battery.name_id, Battery.name_en, Item.status, func.count(Item.id))
        .join(Competency, Competency.battery_id == Battery.id)
        .join(Item, Item.competency_id == Competency.id)
        .group_by(Battery.code, Battery.name_id, Battery.name_en, Battery.position, Item.status)
        .order_by(Battery.position)
    ).all()
    totals = {
        "agencies": db.session.scalar(select(func.count(Agency.id))),
        "units": db.session.scalar(select(func.count(Unit.id))),
        "participants": db.session.scalar(select(func.count(User.id)).where(User.role == "participant")),
        "items": db.session.scalar(select(func.count(Item.id))),
    }
    return render_template("admin/dashboard.html", clusters=clusters, bank=bank, totals=totals,
                           statuses=STATUS_LABELS)


@bp.route("/audit")
@admin_required
def audit_log():
    page = db.paginate(select(AuditLog).order_by(AuditLog.id.desc()), per_page=50, max_per_page=200)
    return render_template("admin/audit.html", page=page)


@bp.route("/participants")
@admin_required
def participants():
    """Participants with their agency, unit and job level; search by NIP or name."""
    q = (request.args.get("q") or "").strip()
    query = select(User).where(User.role == "participant").order_by(User.name)
    if q:
        like = f"%{q.lower()}%"
        query = query.where((func.lower(User.name).like(like)) | (User.nip.like(f"%{q}%")))
    page = db.paginate(query, per_page=50, max_per_page=200)
    from assess.services import audit

    audit.record("admin.view_personal_data", target_type="users",
                 detail={"page": page.page, "query": q or None})
    db.session.commit()
    return render_template("admin/participants.html", page=page, q=q)


# The item bank's pages live in their own module on this blueprint.
from assess.admin import bank_routes  # noqa: E402,F401
# Test specifications, waves, enrolment and monitoring (test delivery, admin side).
from assess.admin import delivery_routes  # noqa: E402,F401
# Agencies, units and clusters; the talent map (dashboards, settings, SKP, exports, planning).
from assess.admin import org_routes  # noqa: E402,F401
from assess.admin import talent_routes  # noqa: E402,F401
