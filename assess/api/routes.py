"""JSON API. Later issues add the save API and exports; every route answers JSON errors."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from assess.auth.access import roles_required
from assess.models import ROLES

bp = Blueprint("api", __name__)


@bp.route("/me")
@roles_required(*ROLES)
def me():
    """Who is signed in: no credentials, no hashes."""
    user = current_user
    return jsonify(
        id=user.id, role=user.role, name=user.name, nip=user.nip, username=user.username,
        agency=user.agency.code if user.agency else None, cluster=user.cluster,
        locale=user.locale,
    )
