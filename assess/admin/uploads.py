"""The shape every all-or-nothing upload view shares: run the import, commit or roll back."""
from __future__ import annotations

from typing import Any, Callable, Optional

from assess.extensions import db
from assess.services.tabular import ImportProblems


def apply_upload(importer: Callable[..., Any], upload, *, dry_run: bool) -> tuple[Optional[list], Any]:
    """Run ``importer(filename, data, dry_run=...)``; return (problems, result).

    Problems: nothing was written (rolled back). A dry run is rolled back too; a real import is
    committed. Exactly one of the two values is None.
    """
    try:
        result = importer(upload.filename or "upload", upload.read(), dry_run=dry_run)
    except ImportProblems as error:
        db.session.rollback()
        return error.problems, None
    if result.dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return None, result
