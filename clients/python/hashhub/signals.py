"""Small constructors for the messages members build most: signals, takedowns and outcome reports."""

import datetime
from typing import Optional, Sequence

from google.protobuf import timestamp_pb2

from .v1 import contributions_pb2, matching_pb2, signals_pb2


def pdq(value: str, quality: Optional[int] = None) -> signals_pb2.Signal:
    """A PDQ hash (64 hex digits). Contributions need the quality (0-100) the hasher computed; matching does not."""
    signal = signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_PDQ, value=value)
    if quality is not None:
        signal.quality = quality
    return signal


def md5(value: str) -> signals_pb2.Signal:
    return signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_MD5, value=value)


def sha256(value: str) -> signals_pb2.Signal:
    return signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_SHA256, value=value)


def url(value: str) -> signals_pb2.Signal:
    return signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_URL, value=value)


def takedown(
    signal: signals_pb2.Signal,
    labels: Sequence[str],
    *,
    source_kind: int = signals_pb2.SOURCE_KIND_UPLOAD,
    incident_id: str = "",
    case_reference: str = "",
    note: str = "",
) -> contributions_pb2.ContributionInput:
    """One item of a contribution batch: the signal, its labels from the taxonomy and its provenance."""
    return contributions_pb2.ContributionInput(
        signal=signal, labels=list(labels), source_kind=source_kind, incident_id=incident_id,
        case_reference=case_reference, note=note)


def outcome(signal_id: str, kind: int, count: int = 1,
            observed_at: Optional[datetime.datetime] = None) -> matching_pb2.OutcomeReport:
    """One outcome report: ``kind`` is MATCH_OUTCOME_MATCHED, _ACTIONED or _FALSE_POSITIVE."""
    report = matching_pb2.OutcomeReport(signal_id=signal_id, outcome=kind, count=count)
    if observed_at is not None:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(observed_at.astimezone(datetime.timezone.utc).replace(tzinfo=None))
        report.observed_at.CopyFrom(stamp)
    return report
