"""HashHub member SDK for Python: token acquisition, contribute, paged and live sync, hub-side match,
retract and outcome reports, over the hub's gRPC contract (protos/hashhub/v1).

Run ``generate.py`` once first: the gRPC modules (``hashhub.v1``) are generated from protos/, not committed.
"""

try:
    from .v1 import contributions_pb2 as _contributions_pb2  # noqa: F401
except ImportError as e:  # pragma: no cover - a clear message beats a bare ModuleNotFoundError
    raise ImportError("hashhub.v1 is missing: run `/usr/bin/python3 clients/python/generate.py` first") from e

from .auth import ClientCredentials
from .client import HubClient, Page, Subscription
from .errors import FieldViolation, HubError, TokenError
from .signals import md5, outcome, pdq, sha256, takedown, url
from .v1.contributions_pb2 import ContributionInput
from .v1.matching_pb2 import (
    MATCH_OUTCOME_ACTIONED,
    MATCH_OUTCOME_FALSE_POSITIVE,
    MATCH_OUTCOME_MATCHED,
    OutcomeReport,
    SignalMatch,
)
from .v1.signals_pb2 import (
    SIGNAL_STATUS_ACTIVE,
    SIGNAL_STATUS_RETRACTED,
    SIGNAL_TYPE_MD5,
    SIGNAL_TYPE_PDQ,
    SIGNAL_TYPE_SHA256,
    SIGNAL_TYPE_URL,
    SOURCE_KIND_LIVESTREAM,
    SOURCE_KIND_PROACTIVE,
    SOURCE_KIND_REFERRAL,
    SOURCE_KIND_UPLOAD,
    SOURCE_KIND_USER_REPORT,
    Signal,
    SignalRecord,
)
from .v1.sync_pb2 import (
    CHANGE_KIND_CREATED,
    CHANGE_KIND_RETRACTED,
    CHANGE_KIND_UPDATED,
    CaughtUp,
    Change,
)

__all__ = [
    "CHANGE_KIND_CREATED", "CHANGE_KIND_RETRACTED", "CHANGE_KIND_UPDATED", "CaughtUp", "Change",
    "ClientCredentials", "ContributionInput", "FieldViolation", "HubClient", "HubError",
    "MATCH_OUTCOME_ACTIONED", "MATCH_OUTCOME_FALSE_POSITIVE", "MATCH_OUTCOME_MATCHED", "OutcomeReport", "Page",
    "SIGNAL_STATUS_ACTIVE", "SIGNAL_STATUS_RETRACTED", "SIGNAL_TYPE_MD5", "SIGNAL_TYPE_PDQ", "SIGNAL_TYPE_SHA256",
    "SIGNAL_TYPE_URL", "SOURCE_KIND_LIVESTREAM", "SOURCE_KIND_PROACTIVE", "SOURCE_KIND_REFERRAL",
    "SOURCE_KIND_UPLOAD", "SOURCE_KIND_USER_REPORT", "Signal", "SignalMatch", "SignalRecord", "Subscription",
    "TokenError", "md5", "outcome", "pdq", "sha256", "takedown", "url",
]
