"""The talent API for other systems (SI-ASN ...): placements and summaries as JSON.

Authentication is a bearer token an admin creates (``Authorization: Bearer asx_...``); the session
cookie is never accepted here, so these GET routes need no CSRF protection. Registered on the api
blueprint (imported at the end of assess/api/routes.py). Every call that returns personal data is
audit-logged.
"""
from __future__ import annotations

from functools import wraps

from flask import g, jsonify, request, url_for
from sqlalchemy import select

from assess.api.routes import bp
from assess.extensions import db
from assess.models import Agency, TalentPlacement, Unit, User, Wave
from assess.services import api_tokens, exports, talent
from assess.services import talent_reports as reports
from assess.services.tabular import whole_number

TP = TalentPlacement
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def token_required(view):
    """Allow only requests with a live bearer token; 401 JSON with WWW-Authenticate otherwise."""
    view._roles = ("token",)  # read by the access-matrix test

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        token = api_tokens.verify(raw.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            response = jsonify(error="unauthorized", message="a valid bearer token is required")
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="assess"'
            return response
        g.api_token = token
        return view(*args, **kwargs)

    return wrapped


def _filters() -> tuple[reports.Filters, dict]:
    """Filters from the query string; agency and wave by code, unit by id (API-friendly)."""
    args = request.args
    problems = {}
    filters = reports.Filters.from_args({k: args.get(k) for k in ("cluster", "unit", "job_level", "version")})
    if args.get("cluster") and filters.cluster is None:
        problems["cluster"] = "cluster must be 1-5"
    if args.get("agency"):
        filters.agency_id = db.session.scalar(select(Agency.id).where(Agency.code == args["agency"])) or -1
    if args.get("wave"):
        filters.wave_id = db.session.scalar(select(Wave.id).where(Wave.code == args["wave"])) or -1
    if args.get("job_level") and filters.job_level is None:
        problems["job_level"] = "unknown job level"
    for name in filters.unread({k: args.get(k) for k in ("unit", "version")}):  # must not widen the scope
        problems[name] = f"{name} must be a whole number"
    return filters, problems


def _audit(action: str, detail: dict) -> None:
    from assess.services import audit

    token = g.api_token
    audit.record(action, actor_label=f"api:{token.name}", target_type="api_tokens", target_id=token.id, detail=detail)


@bp.route("/talent/placements")
@token_required
def talent_placements():
    """Current placements, ordered by id, in pages: ``?after=<id>&limit=<n>`` (keyset paging)."""
    filters, problems = _filters()
    limit = whole_number(request.args.get("limit") or DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = whole_number(request.args.get("after") or 0, 0)
    if limit is None:
        problems["limit"] = f"limit must be 1-{MAX_LIMIT}"
    if after is None:
        problems["after"] = "after must be a placement id (a whole number)"
    if problems:
        db.session.commit()
        return jsonify(error="bad_request", message="invalid parameters", problems=problems), 400
    settings = reports.settings_for(filters)
    settings_id = settings.id if settings else None
    band_set = talent.with_defaults(settings.settings)["band_set"] if settings else "mapping"
    query = (reports.placements_scope(filters, settings_id, TP, User.nip, User.name, User.job_level, User.position,
                                      Agency.code, Unit.code, Unit.name, Wave.code)
             .outerjoin(Wave, TP.wave_id == Wave.id).where(TP.id > after).order_by(TP.id).limit(limit + 1))
    rows = db.session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    data = [{
        "id": tp.id, "nip": nip, "name": name, "agency": agency_code, "unit": {"code": unit_code, "name": unit_name},
        "cluster": tp.cluster, "job_level": job_level, "position": position, "wave": wave_code,
        "levels": tp.levels or {}, "jpm": None if tp.jpm is None else round(tp.jpm, 2), "band": tp.band,
        "potential_index": tp.potential_index, "potential": tp.potential, "performance": tp.performance,
        "box": tp.box, "recommendation": str(talent.BOX_RECOMMENDATIONS[tp.box]) if tp.box else None,
        "talent_pool": tp.box in talent.TALENT_POOL if tp.box else False, "ready": tp.ready,
        "incomplete": (tp.note or "").split(",") if tp.note else [],
        "computed_at": tp.computed_at.isoformat(),
    } for tp, nip, name, job_level, position, agency_code, unit_code, unit_name, wave_code in rows]
    next_after = data[-1]["id"] if more and data else None
    body = {
        "data": data, "settings_version": settings.version if settings else None, "band_set": band_set,
        "limit": limit, "next_after": next_after,
        "next": url_for("api.talent_placements", _external=True, **{**request.args.to_dict(), "after": next_after})
        if next_after else None,
    }
    if after == 0:
        body["total"] = exports.count_people(filters, settings_id)
    _audit("api.talent_placements", {"filters": filters.describe(), "after": after, "rows": len(data)})
    db.session.commit()
    return jsonify(body)


@bp.route("/talent/summary")
@token_required
def talent_summary():
    """Counts per cluster (or per agency with ?cluster=, per unit with ?agency=): no personal data."""
    filters, problems = _filters()
    if problems:
        db.session.commit()
        return jsonify(error="bad_request", message="invalid parameters", problems=problems), 400
    settings = reports.settings_for(filters)
    by = "unit" if filters.agency_id else "agency" if filters.cluster else "cluster"
    total, groups = reports.aggregate(filters, settings.id if settings else None, by=by)

    def tally(t: reports.Tally) -> dict:
        return {"participants": t.people, "assessed": t.placed, "pending": t.pending,
                "boxes": {str(b): t.boxes.get(b, 0) for b in range(1, 10)}, "no_box": t.no_box,
                "talent_pool": t.pool, "bands": {b: t.bands.get(b, 0) for b in talent.BANDS},
                "ready": {"ready": t.ready.get(True, 0), "not_ready": t.ready.get(False, 0), "unknown": t.ready.get(None, 0)}}

    _audit("api.talent_summary", {"filters": filters.describe()})
    db.session.commit()
    return jsonify(settings_version=settings.version if settings else None, by=by, total=tally(total),
                   groups=[{"key": g.key, "code": g.code, "name": g.name, **tally(g.tally)} for g in groups])


@bp.route("/talent/openapi.json")
def talent_openapi():
    """The OpenAPI 3.1 description of the talent API (public: it holds no data)."""
    return jsonify(openapi_document())


def openapi_document() -> dict:
    filters = [
        {"name": "cluster", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5}},
        {"name": "agency", "in": "query", "schema": {"type": "string"}, "description": "agency code, e.g. KEMENKEU"},
        {"name": "unit", "in": "query", "schema": {"type": "integer"}, "description": "unit id"},
        {"name": "job_level", "in": "query", "schema": {"type": "string", "enum": list(talent.JOB_LEVEL_LABELS)}},
        {"name": "wave", "in": "query", "schema": {"type": "string"}, "description": "wave code; default: each participant's latest attempt"},
        {"name": "version", "in": "query", "schema": {"type": "integer"}, "description": "settings version; default: the newest with placements"},
    ]
    counts = {"type": "object", "properties": {
        "participants": {"type": "integer"}, "assessed": {"type": "integer"}, "pending": {"type": "integer"},
        "boxes": {"type": "object", "additionalProperties": {"type": "integer"}}, "no_box": {"type": "integer"},
        "talent_pool": {"type": "integer"}, "bands": {"type": "object", "additionalProperties": {"type": "integer"}},
        "ready": {"type": "object", "additionalProperties": {"type": "integer"}}}}
    placement = {"type": "object", "properties": {
        "id": {"type": "integer"}, "nip": {"type": "string", "pattern": "^[0-9]{18}$"}, "name": {"type": "string"},
        "agency": {"type": ["string", "null"]}, "unit": {"type": "object"}, "cluster": {"type": ["integer", "null"]},
        "job_level": {"type": ["string", "null"]}, "position": {"type": ["string", "null"]}, "wave": {"type": ["string", "null"]},
        "levels": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
                   "description": "proficiency level per competency code"},
        "jpm": {"type": ["number", "null"], "description": "job-person match, percent"},
        "band": {"type": ["string", "null"], "enum": [*talent.BANDS, None]},
        "potential_index": {"type": ["number", "null"]}, "potential": {"type": ["string", "null"], "enum": [*talent.POTENTIAL, None]},
        "performance": {"type": ["string", "null"], "enum": [*talent.PERFORMANCE, None]},
        "box": {"type": ["integer", "null"], "minimum": 1, "maximum": 9,
                "description": "KemenPANRB 9-box; null when data is incomplete (no SKP rating)"},
        "recommendation": {"type": ["string", "null"]}, "talent_pool": {"type": "boolean"},
        "ready": {"type": ["boolean", "null"], "description": "IKN readiness; null: not decidable"},
        "incomplete": {"type": "array", "items": {"type": "string"}}, "computed_at": {"type": "string", "format": "date-time"}}}
    errors = {"401": {"description": "missing, unknown, expired or revoked token"},
              "400": {"description": "invalid parameters"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "assess talent API", "version": "1.0",
                 "description": "Talent maps of ASN assessed for the relocation to IKN Nusantara: JPM, bands, the "
                                "KemenPANRB 9-box and IKN readiness. Personal data (UU PDP 27/2022): every call is logged."},
        "servers": [{"url": url_for("main.index", _external=True).rstrip("/")}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "a token created by an admin under Talent map → API tokens"}},
                       "schemas": {"Placement": placement, "Counts": counts}},
        "security": [{"bearer": []}],
        "paths": {
            "/api/talent/placements": {"get": {
                "summary": "Current placements, keyset-paginated by id",
                "parameters": filters + [
                    {"name": "after", "in": "query", "schema": {"type": "integer", "default": 0}, "description": "return ids above this (next_after of the previous page)"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": DEFAULT_LIMIT, "minimum": 1, "maximum": MAX_LIMIT}}],
                "responses": {"200": {"description": "one page", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Placement"}},
                        "settings_version": {"type": ["integer", "null"]}, "band_set": {"type": "string"},
                        "limit": {"type": "integer"}, "next_after": {"type": ["integer", "null"]},
                        "next": {"type": ["string", "null"]}, "total": {"type": "integer", "description": "first page only"}}}}}},
                              **errors}}},
            "/api/talent/summary": {"get": {
                "summary": "Counts per cluster, per agency (with cluster) or per unit (with agency)",
                "parameters": filters,
                "responses": {"200": {"description": "counts", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"settings_version": {"type": ["integer", "null"]}, "by": {"type": "string"},
                                                     "total": {"$ref": "#/components/schemas/Counts"},
                                                     "groups": {"type": "array", "items": {"$ref": "#/components/schemas/Counts"}}}}}}},
                              **errors}}},
        },
    }
