"""Access control decorators: 401/403 JSON for the API, redirects and 403 pages for HTML."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from assess.extensions import login_manager

HOME_ENDPOINTS = {
    "participant": "participant.home",
    "assessor": "review.queue",
    "admin": "admin.dashboard",
}


def roles_required(*roles: str):
    """Allow only signed-in users with one of ``roles``.

    Anonymous users are sent to sign in (401 JSON under /api); signed-in users with another role
    get 403.
    """

    def decorator(view):
        view._roles = roles  # read by the access-matrix test

        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


participant_required = roles_required("participant")
assessor_required = roles_required("assessor", "admin")
admin_required = roles_required("admin")


def home_endpoint(user) -> str:
    return HOME_ENDPOINTS.get(user.role, "main.index")
