"""The access matrix: every route, every role, one table. A route missing here fails the test."""
from __future__ import annotations


ANYONE = "anyone"
TOKEN = "bearer token"  # API for other systems: a session never grants access (401 for every role)
ROLES = ("anonymous", "participant", "assessor", "admin")

# endpoint -> roles allowed (ANYONE: public). Add every new route here.
EXPECTED: dict[str, object] = {
    "static": ANYONE,
    "main.index": ANYONE,
    "main.set_language": ANYONE,
    "main.healthz": ANYONE,
    "auth.login": ANYONE,
    "auth.staff_login": ANYONE,
    "auth.logout": ANYONE,
    "participant.home": {"participant"},
    "participant.start": {"participant"},
    "participant.resume": {"participant"},
    "participant.question": {"participant"},
    "participant.section_review": {"participant"},
    "participant.confirm": {"participant"},
    "participant.submit": {"participant"},
    "participant.finished": {"participant"},
    "api.save_answers": {"participant"},
    "api.events": {"participant"},
    "api.clock": {"participant"},
    "review.queue": {"assessor", "admin"},
    "review.bulk_approve": {"assessor", "admin"},
    "review.report_page": {"assessor", "admin"},
    "review.decide": {"assessor", "admin"},
    "review.rescore": {"admin"},
    "admin.dashboard": {"admin"},
    "admin.audit_log": {"admin"},
    "admin.participants": {"admin"},
    "admin.bank_index": {"admin"},
    "admin.bank_item_new": {"admin"},
    "admin.bank_item": {"admin"},
    "admin.bank_item_edit": {"admin"},
    "admin.bank_item_status": {"admin"},
    "admin.bank_competency": {"admin"},
    "admin.bank_calibrate": {"admin"},
    "admin.bank_calibration_run": {"admin"},
    "admin.bank_calibration_status": {"admin"},
    "admin.bank_calibration_accept": {"admin"},
    "admin.bank_import": {"admin"},
    "admin.bank_export": {"admin"},
    "admin.specs": {"admin"},
    "admin.spec_new": {"admin"},
    "admin.spec_view": {"admin"},
    "admin.spec_edit": {"admin"},
    "admin.spec_validate": {"admin"},
    "admin.spec_activate": {"admin"},
    "admin.spec_deactivate": {"admin"},
    "admin.spec_copy": {"admin"},
    "admin.waves": {"admin"},
    "admin.wave_new": {"admin"},
    "admin.wave_view": {"admin"},
    "admin.wave_edit": {"admin"},
    "admin.wave_enroll_rule": {"admin"},
    "admin.wave_enroll_upload": {"admin"},
    "admin.wave_enroll_template": {"admin"},
    "admin.wave_enrollment_update": {"admin"},
    "admin.wave_attempt": {"admin"},
    "admin.wave_attempt_extend": {"admin"},
    "admin.wave_attempt_reopen": {"admin"},
    "admin.wave_attempt_pause": {"admin"},
    "admin.wave_attempt_resume": {"admin"},
    "admin.wave_pause": {"admin"},
    "admin.talent_job": {"admin"},
    "api.me": {"participant", "assessor", "admin"},
    # Agencies, units and clusters; the talent map (issue 8).
    "admin.orgs_index": {"admin"},
    "admin.orgs_agency_new": {"admin"},
    "admin.orgs_agency": {"admin"},
    "admin.orgs_agency_edit": {"admin"},
    "admin.orgs_agency_delete": {"admin"},
    "admin.orgs_unit_new": {"admin"},
    "admin.orgs_unit_edit": {"admin"},
    "admin.orgs_unit_delete": {"admin"},
    "admin.orgs_cluster_edit": {"admin"},
    "admin.orgs_import": {"admin"},
    "admin.orgs_export": {"admin"},
    "admin.talent_dashboard": {"admin"},
    "admin.talent_box": {"admin"},
    "admin.talent_compute": {"admin"},
    "admin.talent_settings": {"admin"},
    "admin.talent_skp": {"admin"},
    "admin.talent_export": {"admin"},
    "admin.talent_planning": {"admin"},
    "admin.talent_planning_list": {"admin"},
    "admin.talent_scheme_new": {"admin"},
    "admin.talent_scheme_edit": {"admin"},
    "admin.talent_scheme_delete": {"admin"},
    "admin.talent_tokens": {"admin"},
    "admin.talent_token_revoke": {"admin"},
    "api.talent_placements": TOKEN,
    "api.talent_summary": TOKEN,
    "api.talent_openapi": ANYONE,
}

SAMPLE_ARGS = {"code": "en", "filename": "css/app.css"}


def _url(rule) -> str:
    return rule.rule if not rule.arguments else rule.build({a: SAMPLE_ARGS.get(a, 1) for a in rule.arguments})[1]


def test_every_route_has_an_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - EXPECTED.keys()
    assert not missing, f"routes without an access rule in EXPECTED: {sorted(missing)}"
    stale = EXPECTED.keys() - endpoints
    assert not stale, f"EXPECTED lists routes that no longer exist: {sorted(stale)}"


def test_access_matrix(app, make_user, login):
    users = {role: make_user(role) for role in ROLES[1:]}
    failures = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        allowed = EXPECTED[rule.endpoint]
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        url = _url(rule)
        for role in ROLES:
            client = app.test_client()
            if role != "anonymous":
                login(users[role], c=client)
            response = client.open(url, method=method)
            status = response.status_code
            location = response.location or ""
            to_login = status == 302 and location.split("?")[0] in ("/auth/login", "/auth/staff")
            if allowed == ANYONE:
                ok = status not in (401, 403)
            elif allowed == TOKEN:
                ok = status == 401
            elif role in allowed:
                ok = status not in (401, 403) and not to_login
            elif role == "anonymous":
                ok = status == 401 if rule.rule.startswith("/api/") else to_login
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{method} {url} as {role}: {status} {response.location or ''}")
    assert not failures, "\n".join(failures)


def test_api_errors_are_json(client, make_user, login):
    response = client.get("/api/me")
    assert response.status_code == 401 and response.is_json
    assert client.get("/api/nothing-here").is_json
    login(make_user("participant"))
    body = client.get("/api/me").get_json()
    assert body["role"] == "participant"
    assert "password_hash" not in body and "session_token" not in body
