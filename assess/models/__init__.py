"""SQLAlchemy models, one module per aggregate. Import from here."""
from assess.models.audit import AuditLog, AuditLogIsAppendOnly
from assess.models.bank import (
    Battery, CalibrationRun, Competency, Item, ItemStatusChange, ItemVersion, Stimulus,
)
from assess.models.base import UTCDateTime, utcnow
from assess.models.delivery import (
    Attempt, AttemptEvent, Enrollment, Response, TestSection, TestSpec, Wave,
)
from assess.models.people import (
    JOB_LEVELS, ROLES, Agency, ApiToken, Cluster, ClusterChange, PerformanceRating, Unit, User,
)
from assess.models.results import (
    RelocationCapacity, RelocationScheme, Review, ReviewCase, Score, TalentPlacement, TalentSettings,
)

__all__ = [
    "ApiToken", "Cluster", "ClusterChange", "RelocationCapacity", "RelocationScheme",
    "Agency", "Attempt", "AttemptEvent", "AuditLog", "AuditLogIsAppendOnly", "Battery",
    "CalibrationRun",
    "Competency", "Enrollment", "Item", "ItemStatusChange", "ItemVersion", "JOB_LEVELS",
    "PerformanceRating", "ROLES", "Response", "Review", "ReviewCase", "Score", "Stimulus", "TalentPlacement",
    "TalentSettings", "TestSection", "TestSpec", "UTCDateTime", "Unit", "User", "Wave", "utcnow",
]
