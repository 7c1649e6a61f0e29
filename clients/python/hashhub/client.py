"""The HashHub member client: one channel, a bearer token on every call, retries where they are safe."""

import collections
import random
import threading
import time
import uuid
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Union

import grpc

from .auth import ClientCredentials
from .errors import HubError, TokenError
from .v1 import (
    contributions_pb2,
    contributions_pb2_grpc,
    matching_pb2,
    matching_pb2_grpc,
    signals_pb2,
    snapshots_pb2,
    snapshots_pb2_grpc,
    sync_pb2,
    sync_pb2_grpc,
    taxonomy_pb2,
    taxonomy_pb2_grpc,
)

# Worth another try: the hub node is starting or restarting (Unavailable, also its match index loading) or the
# member is over its rate limit (ResourceExhausted, with the hub's hint of when to come back).
_TRANSIENT = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)

# The channel's own reconnect backoff, capped as the SDK's (5 s). Without a cap grpc waits up to two minutes between
# connection attempts, so after the hub came back from a restart the channel kept answering UNAVAILABLE ("connection
# refused", from its last attempt while the hub was down) for longer than any retry here waits.
_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 200), ("grpc.max_reconnect_backoff_ms", 5000)]

# A broken snapshot stream is read again from its start: the connection broke (Unavailable, Internal), the records did
# not add up (DataLoss), or the member is over its snapshot rate limit (ResourceExhausted, with the hub's hint).
_SNAPSHOT_RETRY = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS,
                   grpc.StatusCode.RESOURCE_EXHAUSTED)

# Records per snapshot page when the caller names no page size: the hub's default ReadChanges page.
_SNAPSHOT_PAGE_SIZE = 1000


class Page(NamedTuple):
    """One page of the change log, or of the hub's snapshot. Store ``cursor`` with what you applied from ``changes``
    and resume from it.

    A page with ``reset`` starts a snapshot: drop every signal you hold before applying it (in the same transaction as
    the page, so matching goes on with the old copy until then). Snapshot pages (``from_snapshot``) carry each live
    signal as a CREATED change with no cursor of its own, and an empty ``cursor`` except the last, which carries the
    snapshot's: a bootstrap cut off half-way leaves an empty cursor stored, and the next sync starts over (its first
    page resets again) rather than going on from a cursor that would skip the rest of the snapshot.
    """

    changes: List[sync_pb2.Change]
    cursor: str
    has_more: bool
    reset: bool = False
    from_snapshot: bool = False


class _CallDetails(
    collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call, asking the token source each time.

    Call credentials would do the same but grpc refuses them on a plaintext channel, and the hub is often
    reached over plaintext on loopback or behind a TLS-terminating proxy.
    """

    def __init__(self, tokens: ClientCredentials) -> None:
        self._tokens = tokens

    def _details(self, details):
        metadata = list(details.metadata or [])
        metadata.append(("authorization", "Bearer " + self._tokens.token()))
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            getattr(details, "wait_for_ready", None), getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details), request)


def _target(address: str):
    """``host:port`` for grpc, and whether to use TLS (``https://``)."""
    if address.startswith("https://"):
        return address[len("https://"):].rstrip("/"), True
    if address.startswith("http://"):
        return address[len("http://"):].rstrip("/"), False
    return address, False


class HubClient:
    """A member's connection to the hub.

    ``address`` is the hub's gRPC endpoint (``127.0.0.1:5000``, ``http://...`` or ``https://...``) and
    ``token_url`` its OAuth2 token endpoint (``http://127.0.0.1:5001/connect/token``). Unary calls get a
    deadline of ``timeout`` seconds and are retried, with jittered exponential backoff, up to ``retries``
    times on Unavailable and ResourceExhausted when retrying is safe (reads, and writes that carry an
    idempotency key). Errors are raised as :class:`HubError`.

    With ``bootstrap_from_snapshot`` (the default) a sync or subscription from an empty cursor starts from the hub's
    snapshot (``Snapshots/ReadSnapshot``: each live signal once, no tombstones) and then reads the log after it, which
    ends with the same copy as reading the whole log; a hub without snapshots is read from the log instead.
    """

    def __init__(
        self,
        address: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: Optional[str] = None,
        timeout: float = 30.0,
        retries: int = 4,
        credentials: Optional[ClientCredentials] = None,
        bootstrap_from_snapshot: bool = True,
    ) -> None:
        self.tokens = credentials or ClientCredentials(token_url, client_id, client_secret, scope=scope)
        target, tls = _target(address)
        channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials(), options=_CHANNEL_OPTIONS) if tls
                   else grpc.insecure_channel(target, options=_CHANNEL_OPTIONS))
        self._raw_channel = channel
        self._channel = grpc.intercept_channel(channel, _BearerToken(self.tokens))
        self._timeout = timeout
        self._retries = retries
        self._contributions = contributions_pb2_grpc.ContributionsStub(self._channel)
        self._sync = sync_pb2_grpc.SyncStub(self._channel)
        self._matching = matching_pb2_grpc.MatchingStub(self._channel)
        self._taxonomy = taxonomy_pb2_grpc.TaxonomyStub(self._channel)
        self._snapshot_stub = snapshots_pb2_grpc.SnapshotsStub(self._channel)
        # Off for good once the hub answered UNIMPLEMENTED (a hub without snapshots): its log is read instead.
        self.snapshots = bootstrap_from_snapshot

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> "HubClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Contributions

    def contribute(self, items: Iterable[contributions_pb2.ContributionInput],
                   idempotency_key: Optional[str] = None) -> contributions_pb2.SubmitContributionsResponse:
        """Submits a batch, all-or-nothing. The idempotency key (a new UUID when not given) makes retries safe:
        resubmitting the same batch with the same key returns the first answer and changes nothing."""
        request = contributions_pb2.SubmitContributionsRequest(
            idempotency_key=idempotency_key or str(uuid.uuid4()), items=list(items))
        return self._unary(self._contributions.SubmitContributions, request, retry=True)

    def retract(self, contribution_id: str, reason: str = "") -> signals_pb2.SignalRecord:
        """Retracts one of this member's contributions; returns the signal after it (RETRACTED when no active
        contribution remains). Not retried: a retry after a lost answer would be refused as already done."""
        request = contributions_pb2.RetractContributionRequest(contribution_id=contribution_id, reason=reason)
        return self._unary(self._contributions.RetractContribution, request, retry=False).signal

    def update_labels(self, contribution_id: str, labels: Sequence[str]) -> signals_pb2.Contribution:
        """Replaces the labels of one of this member's active contributions."""
        request = contributions_pb2.UpdateContributionLabelsRequest(contribution_id=contribution_id, labels=list(labels))
        return self._unary(self._contributions.UpdateContributionLabels, request, retry=True)

    def get_signal(self, signal_id: Optional[str] = None,
                   signal: Optional[signals_pb2.Signal] = None) -> signals_pb2.SignalRecord:
        """Gets one signal with all its contributions, by id or by type and value."""
        request = (contributions_pb2.GetSignalRequest(signal_id=signal_id) if signal_id is not None
                   else contributions_pb2.GetSignalRequest(signal=signal))
        return self._unary(self._contributions.GetSignal, request, retry=True)

    def list_labels(self) -> List[taxonomy_pb2.Label]:
        """The label taxonomy, deprecated labels included."""
        return list(self._unary(self._taxonomy.ListLabels, taxonomy_pb2.ListLabelsRequest(), retry=True).labels)

    # Sync

    def read_changes(self, cursor: str = "", page_size: int = 0,
                     signal_types: Sequence[int] = ()) -> Page:
        """Reads one page of changes after ``cursor`` (empty: from the start of the log)."""
        request = sync_pb2.ReadChangesRequest(cursor=cursor, page_size=page_size, signal_types=list(signal_types))
        response = self._unary(self._sync.ReadChanges, request, retry=True)
        return Page(list(response.changes), response.next_cursor, response.has_more)

    def sync(self, cursor: str = "", page_size: int = 0,
             signal_types: Sequence[int] = ()) -> Iterator[Page]:
        """Reads every change after ``cursor``, page by page, until the log's end.

        Each page carries the cursor to store with what was applied from it; the last page's cursor is where
        the next sync starts (it is also the generator's return value, for ``yield from``). From an empty cursor
        (a first sync, or after the hub said "resync required") it first yields the hub's snapshot
        (:meth:`read_snapshot`, see :class:`Page` for ``reset``), then the log after it.
        """
        if not cursor:
            snapshot_cursor = yield from self._bootstrap(page_size, signal_types)
            if snapshot_cursor is not None:
                cursor = snapshot_cursor
        while True:
            page = self.read_changes(cursor, page_size, signal_types)
            cursor = page.cursor
            yield page
            if not page.has_more:
                return cursor

    def read_snapshot(self, page_size: int = 0, signal_types: Sequence[int] = ()) -> Iterator[Page]:
        """Reads the hub's snapshot: every live signal the member may see, once (a later record of a signal replaces
        an earlier one), in pages of ``page_size`` records as CREATED changes, the first with ``reset``, the last
        with the cursor to read the log from (the generator's return value too).

        The snapshot counts its records, and a stream that ends short or breaks is read again from its start (the
        next page then has ``reset`` again), after a backoff, up to ``retries`` times; the token is renewed once on
        UNAUTHENTICATED. A hub without snapshots raises a :class:`HubError` with ``UNIMPLEMENTED``.
        """
        size = page_size if page_size > 0 else _SNAPSHOT_PAGE_SIZE
        attempt = 0
        refreshed = False
        while True:
            try:
                return (yield from self._snapshot_pages(size, signal_types, wait_for_ready=attempt > 0))
            except TokenError as e:
                if not e.transient or attempt >= self._retries:
                    raise
                time.sleep(_backoff(attempt))
            except (grpc.RpcError, HubError) as e:
                error = e if isinstance(e, HubError) else HubError.from_rpc_error(e)
                if error.code == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    self.tokens.invalidate()
                    refreshed = True
                    continue
                if error.code not in _SNAPSHOT_RETRY or attempt >= self._retries:
                    if error is e:
                        raise
                    raise error from e
                time.sleep(error.retry_after if error.retry_after is not None else _backoff(attempt))
            attempt += 1

    def _snapshot_pages(self, size: int, signal_types: Sequence[int], *, wait_for_ready: bool) -> Iterator[Page]:
        request = snapshots_pb2.ReadSnapshotRequest(signal_types=list(signal_types))
        # No deadline: a snapshot of millions of signals takes longer than any unary call.
        call = self._snapshot_stub.ReadSnapshot(request, wait_for_ready=wait_for_ready or None)
        try:
            batch: List[sync_pb2.Change] = []
            first = True
            records = 0
            for chunk in call:
                for record in chunk.signals:
                    batch.append(sync_pb2.Change(kind=sync_pb2.CHANGE_KIND_CREATED, signal=record))
                    if len(batch) == size:
                        yield Page(batch, "", True, reset=first, from_snapshot=True)
                        batch, first = [], False
                records += len(chunk.signals)
                if chunk.cursor:
                    if chunk.total_signals != records:
                        raise HubError(grpc.StatusCode.DATA_LOSS,
                                       f"the snapshot said it held {chunk.total_signals} signals; {records} arrived")
                    yield Page(batch, chunk.cursor, True, reset=first, from_snapshot=True)
                    return chunk.cursor
            raise HubError(grpc.StatusCode.UNAVAILABLE, "the snapshot ended before its last chunk")
        finally:
            # Also when the consumer stops half-way: the stream must not stay open on the hub.
            call.cancel()

    def _bootstrap(self, page_size: int, signal_types: Sequence[int]) -> Iterator[Page]:
        """The snapshot's pages when snapshots are on; returns its cursor, or None to read the whole log instead."""
        if not self.snapshots:
            return None
        try:
            return (yield from self.read_snapshot(page_size, signal_types))
        except HubError as e:
            if e.code != grpc.StatusCode.UNIMPLEMENTED:
                raise
            # A hub without snapshots: read its whole log, now and from now on.
            self.snapshots = False
            return None

    def subscribe(self, cursor: str = "", signal_types: Sequence[int] = (), *,
                  reconnect: bool = True) -> "Subscription":
        """Opens a live subscription: it catches up from ``cursor``, then delivers each change as it commits.

        Iterate it for :class:`Change` and :class:`CaughtUp` messages. When the stream breaks (the hub
        restarts) it reconnects and resumes from the last cursor it delivered; ``close()`` (from any thread)
        ends it. From an empty cursor (with snapshots on) it first delivers the hub's snapshot as :class:`Page`
        objects (see :meth:`read_snapshot`), then subscribes from the snapshot's cursor.
        """
        return Subscription(self, cursor, signal_types, reconnect)

    # Matching

    def match(self, signals: Sequence[signals_pb2.Signal],
              max_distance: Optional[int] = None) -> List[matching_pb2.SignalMatch]:
        """Hub-side match of the hashes of one piece of content (computed locally: the content never leaves the
        member). Returns the known signals within the threshold, closest first, with distance, labels,
        contributions and confidence."""
        request = matching_pb2.MatchRequest(signals=list(signals))
        if max_distance is not None:
            request.max_distance = max_distance
        return list(self._unary(self._matching.Match, request, retry=True).matches)

    def report_outcomes(self, reports: Iterable[matching_pb2.OutcomeReport],
                        idempotency_key: Optional[str] = None) -> matching_pb2.ReportOutcomesResponse:
        """Reports what this member did about matches (matched, actioned, false positive)."""
        request = matching_pb2.ReportOutcomesRequest(idempotency_key=idempotency_key or str(uuid.uuid4()),
                                                     reports=list(reports))
        return self._unary(self._matching.ReportOutcomes, request, retry=True)

    # Plumbing

    def _unary(self, method, request, *, retry: bool):
        refreshed = False
        attempt = 0
        while True:
            try:
                # A retry waits (within the deadline) for the channel to connect instead of failing at once with
                # the error of its last connection attempt: the hub may be back already.
                return method(request, timeout=self._timeout, wait_for_ready=attempt > 0 or None)
            except TokenError as e:
                # No token, so the call never left: another try is safe for any call, writes without a key too.
                if not e.transient or attempt >= self._retries:
                    raise
                time.sleep(_backoff(attempt))
                attempt += 1
            except grpc.RpcError as e:
                error = HubError.from_rpc_error(e)
                if error.code == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    # The token may have been revoked or the clocks disagree: one more try with a fresh one.
                    self.tokens.invalidate()
                    refreshed = True
                    continue
                if not retry or error.code not in _TRANSIENT or attempt >= self._retries:
                    raise error from e
                time.sleep(error.retry_after if error.retry_after is not None else _backoff(attempt))
                attempt += 1


def _backoff(attempt: int) -> float:
    # Full jitter (exponential, capped), so that many members reconnecting after a hub restart spread out.
    return random.uniform(0, min(5.0, 0.2 * (2 ** attempt)))


class Subscription:
    """A live subscription; see :meth:`HubClient.subscribe`. ``cursor`` is the last cursor delivered."""

    def __init__(self, client: HubClient, cursor: str, signal_types: Sequence[int], reconnect: bool) -> None:
        self._client = client
        self._cursor = cursor
        self._signal_types = list(signal_types)
        self._reconnect = reconnect
        self._lock = threading.Lock()
        self._call = None
        self._closed = threading.Event()
        self.caught_up = False
        self.reconnects = 0  # streams reopened after a break

    @property
    def cursor(self) -> str:
        return self._cursor

    def close(self) -> None:
        with self._lock:
            self._closed.set()
            if self._call is not None:
                self._call.cancel()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[Union[Page, sync_pb2.Change, sync_pb2.CaughtUp]]:
        try:
            yield from self._events()
        finally:
            # Also when the consumer leaves its loop early: the stream must not stay open on the hub.
            with self._lock:
                if self._call is not None:
                    self._call.cancel()

    def _events(self) -> Iterator[Union[Page, sync_pb2.Change, sync_pb2.CaughtUp]]:
        attempt = 0
        refreshed = False
        while True:
            error = None
            try:
                if not self._cursor:
                    # Bootstrap first (the snapshot, read again from its start if it breaks; its first page resets),
                    # then subscribe from where it ends. A hub without snapshots catches up from the log instead.
                    for page in self._client._bootstrap(0, self._signal_types):
                        if self._closed.is_set():
                            return
                        if page.cursor:
                            self._cursor = page.cursor
                        yield page
                with self._lock:
                    if self._closed.is_set():
                        return
                    request = sync_pb2.SubscribeRequest(cursor=self._cursor, signal_types=self._signal_types)
                    # A reconnect waits for the channel to connect (close() cancels the wait) rather than failing
                    # at once while the hub is still down.
                    self._call = call = self._client._sync.Subscribe(request, wait_for_ready=attempt > 0 or None)
                for response in call:
                    attempt = 0
                    refreshed = False
                    if response.HasField("change"):
                        self._cursor = response.change.cursor
                        yield response.change
                    else:
                        self._cursor = response.caught_up.cursor
                        self.caught_up = True
                        yield response.caught_up
                # The hub ended the stream (it is shutting down): resume later or on another node.
            except TokenError as e:
                # A token was due while the hub (its token endpoint) was down or restarting: try again later, as
                # for the stream itself. Wrong credentials are no reason to keep trying.
                if self._closed.is_set():
                    return
                if not self._reconnect or not e.transient:
                    raise
            except (grpc.RpcError, HubError) as e:
                # A HubError comes from the bootstrap, which has retried the snapshot already.
                if self._closed.is_set():
                    return
                error = e if isinstance(e, HubError) else HubError.from_rpc_error(e)
                if error.code == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    self._client.tokens.invalidate()
                    refreshed = True
                    continue
                if not self._reconnect or error.code not in _TRANSIENT + (grpc.StatusCode.INTERNAL,
                                                                           grpc.StatusCode.DATA_LOSS):
                    if error is e:
                        raise
                    raise error from e
            if self._closed.is_set():
                return
            if not self._reconnect:
                if error is not None:
                    raise error
                return
            # Wait before reconnecting; close() cuts the wait short.
            self._closed.wait(error.retry_after if error is not None and error.retry_after is not None
                              else _backoff(attempt))
            attempt = min(attempt + 1, 10)
            self.reconnects += 1
