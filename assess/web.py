"""Wiring of the web layer: extensions, blueprints, request hooks, security headers, errors."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, g, jsonify, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from assess.extensions import babel, csrf, db, limiter, login_manager, migrate

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def select_locale() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = session.get("lang")
    if lang in languages:
        return lang
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):  # pragma: no cover - per connection
    """WAL and a busy timeout: plain SQLite locks the whole file under concurrent writers."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    from flask import current_app, has_app_context

    timeout = current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10_000) if has_app_context() else 10_000
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(timeout)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_extensions(app: Flask) -> None:
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and ":memory:" not in uri:
        from pathlib import Path

        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgresql://")

    db.init_app(app)
    from assess import models  # noqa: F401  (register the tables on the metadata)

    from config import BASE_DIR

    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://"
    )
    limiter.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        from assess.models import User

        try:
            raw_id, token = user_id.split(":", 1)
            user = db.session.get(User, int(raw_id))
        except (ValueError, TypeError):
            return None
        if user is None or user.session_token != token or not user.is_active:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for

        if wants_json():
            return jsonify(error="unauthorized", message=_("Please sign in.")), 401
        target = "auth.staff_login" if request.blueprint in ("admin", "review") else "auth.login"
        return redirect(url_for(target, next=request.full_path if request.method == "GET" else None))


def register_blueprints(app: Flask) -> None:
    from assess.admin.routes import bp as admin_bp
    from assess.api.routes import bp as api_bp
    from assess.auth.routes import bp as auth_bp
    from assess.participant.routes import bp as participant_bp
    from assess.review.routes import bp as review_bp
    from assess.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(participant_bp, url_prefix="/me")
    app.register_blueprint(review_bp, url_prefix="/review")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best == "application/json"
    )


def register_hooks(app: Flask) -> None:
    digests: dict[str, str] = {}

    @app.url_defaults
    def static_version(endpoint, values):
        """Add ?v=<content hash> to static URLs: a changed file gets a new URL, so the long cache
        lifetime of static files (SEND_FILE_MAX_AGE_DEFAULT) never serves a stale one."""
        if endpoint != "static" or "v" in values or not values.get("filename"):
            return
        filename = values["filename"]
        if filename not in digests or app.debug:
            path = Path(app.static_folder) / filename
            try:
                digests[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            except OSError:
                return
        values["v"] = digests[filename]

    @app.before_request
    def absurd_page_number():
        """?page=99999999999999999999 would overflow the database's integer: no such page (404),
        as for page=-1 or page=abc."""
        page = request.args.get("page", "")
        if len(page) > 9:
            from flask import abort

            abort(404)

    @app.before_request
    def idle_timeout():
        """End a session that has been idle longer than PERMANENT_SESSION_LIFETIME.

        The browser drops the cookie when it expires, but a copied cookie could be replayed; the
        signed last-seen time makes the server enforce the limit itself.
        """
        session.permanent = True
        if request.endpoint == "static":
            return
        now = datetime.now(timezone.utc).timestamp()
        last = session.get("seen")
        limit = app.permanent_session_lifetime.total_seconds()
        if current_user.is_authenticated and last is not None and now - float(last) > limit:
            from assess.services import audit

            audit.record("auth.idle_timeout", actor=current_user._get_current_object())
            db.session.commit()
            logout_user()
            session.clear()
            g.session_expired = True
        session["seen"] = int(now)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        # Signed-in pages are private. Read the session, not current_user: after a commit the
        # user row is expired and asking it would cost another query on every response.
        if "_user_id" in session:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    from assess.services.rendering import render_inline, render_markdown
    from assess.services.timefmt import detail_value, local_datetime, zone_abbreviation

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["markdown_inline"] = render_inline
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["zone"] = zone_abbreviation
    app.jinja_env.filters["detail_value"] = detail_value

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        from assess.services.delivery import event_label

        return {
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            "event_label": event_label,
        }


def register_error_handlers(app: Flask) -> None:
    messages = {
        400: lambda: _("The request could not be understood. Reload the page and try again."),
        401: lambda: _("Please sign in."),
        403: lambda: _("You do not have access to this page."),
        404: lambda: _("The page you asked for does not exist."),
        405: lambda: _("This action is not allowed here."),
        413: lambda: _("The file is too large."),
        429: lambda: _("Too many attempts. Wait a few minutes and try again."),
        500: lambda: _("Something went wrong on our side. The error has been recorded."),
        503: lambda: _("The service is temporarily unavailable."),
    }
    titles = {
        400: lambda: _("Bad request"), 401: lambda: _("Sign-in required"),
        403: lambda: _("Access denied"), 404: lambda: _("Page not found"),
        405: lambda: _("Method not allowed"), 413: lambda: _("File too large"),
        429: lambda: _("Too many requests"), 500: lambda: _("Server error"),
        503: lambda: _("Service unavailable"),
    }

    def render_error(code: int, description: str | None = None):
        message = messages.get(code, messages[500])()
        if wants_json():
            return jsonify(error=code, message=description or message), code
        return (
            render_template("errors/error.html", code=code, title=titles.get(code, titles[500])(),
                            message=message, detail=description),
            code,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        detail = None
        if code == 400 and getattr(error, "description", None) and "CSRF" in str(error.description):
            detail = _("The form has expired or was not sent from this site. Reload the page and try again.")
        if code == 500:
            db.session.rollback()
        return render_error(code if code in messages else 500 if code >= 500 else 400, detail)

    @app.errorhandler(Exception)
    def unhandled(error: Exception):
        if isinstance(error, HTTPException):  # pragma: no cover - handled above
            return http_error(error)
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        if app.debug or (app.testing and app.config.get("PROPAGATE_EXCEPTIONS") is not False):
            raise error
        return render_error(500)
