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


class Page(NamedTuple):
    """One page of the change log. Store ``cursor`` with what you applied from ``changes`` and resume from it."""

    changes: List[sync_pb2.Change]
    cursor: str
    has_more: bool


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
        the next sync starts (it is also the generator's return value, for ``yield from``).
        """
        while True:
            page = self.read_changes(cursor, page_size, signal_types)
            cursor = page.cursor
            yield page
            if not page.has_more:
                return cursor

    def subscribe(self, cursor: str = "", signal_types: Sequence[int] = (), *,
                  reconnect: bool = True) -> "Subscription":
        """Opens a live subscription: it catches up from ``cursor``, then delivers each change as it commits.

        Iterate it for :class:`Change` and :class:`CaughtUp` messages. When the stream breaks (the hub
        restarts) it reconnects and resumes from the last cursor it delivered; ``close()`` (from any thread)
        ends it.
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

    def __iter__(self) -> Iterator[Union[sync_pb2.Change, sync_pb2.CaughtUp]]:
        try:
            yield from self._events()
        finally:
            # Also when the consumer leaves its loop early: the stream must not stay open on the hub.
            with self._lock:
                if self._call is not None:
                    self._call.cancel()

    def _events(self) -> Iterator[Union[sync_pb2.Change, sync_pb2.CaughtUp]]:
        attempt = 0
        refreshed = False
        while True:
            error = None
            try:
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
            except grpc.RpcError as e:
                if self._closed.is_set():
                    return
                error = HubError.from_rpc_error(e)
                if error.code == grpc.StatusCode.UNAUTHENTICATED and not refreshed:
                    self._client.tokens.invalidate()
                    refreshed = True
                    continue
                if not self._reconnect or error.code not in _TRANSIENT + (grpc.StatusCode.INTERNAL,):
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
