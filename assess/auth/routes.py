"""Sign-in for participants (NIP) and staff (username), and sign-out."""
from __future__ import annotations

import secrets
import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from assess.auth.access import home_endpoint
from assess.auth.forms import LogoutForm, ParticipantLoginForm, StaffLoginForm
from assess.extensions import db, limiter
from assess.services import accounts, audit

bp = Blueprint("auth", __name__)



def _failed(response) -> bool:
    """Only failed sign-ins count against the limits (a success answers 302)."""
    return response.status_code == 401


def _account_key() -> str:
    login = (request.form.get("nip") or request.form.get("username") or "").strip().lower()
    return f"account:{login[:64]}"


def _ip_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


login_limits = [
    limiter.limit(_ip_limit, methods=["POST"], deduct_when=_failed),
    limiter.limit(_account_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed),
]


def _throttled(view):
    for decorator in reversed(login_limits):
        view = decorator(view)
    return view


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _sign_in(user) -> None:
    """Start a fresh session for ``user``: nothing of the anonymous session survives."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session["sid"] = secrets.token_hex(16)  # a new value, so the cookie always changes
    session["seen"] = int(time.time())
    login_user(user)
    db.session.commit()


def _login(form, group: str, template: str):
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    status = 200
    if form.validate_on_submit():
        login = form.nip.data if group == "participant" else form.username.data.strip()
        slot = accounts.password_check_slot()
        if not slot.acquire(timeout=current_app.config["LOGIN_WAIT_SECONDS"]):
            # A wave opening: many sign-ins at once. Answer at once rather than let cheap requests
            # (autosaves) queue behind a pile of deliberately slow password hashes.
            flash(_("Many participants are signing in right now. Please try again in a few seconds."), "warning")
            return render_template(template, form=form), 503, {"Retry-After": "5"}
        try:
            user = accounts.authenticate(role_group=group, login=login, password=form.password.data)
        finally:
            slot.release()
        if user is not None:
            _sign_in(user)
            return redirect(_safe_next(url_for(home_endpoint(user))))
        db.session.commit()  # the failed-sign-in audit row
        flash(_("The NIP/username or password is incorrect."), "danger")
        status = 401
    elif request.method == "POST":
        status = 400
        if group == "participant" and "nip" in form.errors:
            # A malformed NIP is a failed sign-in too: it is audited and counts against the limits.
            status = 401
            audit.record("auth.login_failed", target_type="login",
                         target_id=(request.form.get("nip") or "")[:64],
                         detail={"reason": "malformed_nip", "group": group},
                         actor_label="anonymous")
            db.session.commit()
    return render_template(template, form=form), status


@bp.route("/login", methods=["GET", "POST"])
@_throttled
def login():
    return _login(ParticipantLoginForm(), "participant", "auth/login.html")


@bp.route("/staff", methods=["GET", "POST"])
@_throttled
def staff_login():
    return _login(StaffLoginForm(), "staff", "auth/staff_login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        return redirect(url_for("main.index"))
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        audit.record("auth.logout", actor=user, target=user)
        accounts.end_all_sessions(user)
        db.session.commit()
        logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
