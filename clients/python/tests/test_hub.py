"""The SDK against a real hub process (started by clients/sdk-tests.sh, which sets the HASHHUB_* variables):
members A and B, A's takedowns reaching B by paged sync, live subscription and hub-side match."""

import os
import pathlib
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

import hashhub
from hashhub import HubClient

LABELS = ["behavior:glorification", "content_type:image"]
WAIT = 30.0  # generous: a change reaches a live subscriber well within a second on an idle machine
# A hub start takes seconds, more on a busy machine, and the channel's reconnect backoff comes on top.
RESTART_WAIT = 180.0


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests with clients/sdk-tests.sh, which starts a hub")
    return value


def _member(letter: str, **options) -> HubClient:
    return HubClient(_env("HASHHUB_ADDRESS"), _env("HASHHUB_TOKEN_URL"),
                     _env(f"HASHHUB_{letter}_CLIENT_ID"), _env(f"HASHHUB_{letter}_CLIENT_SECRET"), **options)


def _random_pdq() -> str:
    return secrets.token_hex(32)


def _flip_bits(hex_value: str, bits) -> str:
    number = int(hex_value, 16)
    for bit in bits:
        number ^= 1 << bit
    return f"{number:064x}"


class _CuttableProxy:
    """A loopback TCP proxy to the hub whose connections the test can cut, as a hub restart or a network
    failure would: the listening port stays, so the client can reconnect through it."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._sockets = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self._server.close()
        self.cut()


def _hub(command: str) -> None:
    """Runs clients/sdk-hub.sh (``kill``: SIGKILL, ``start``: on the same ports and data folder)."""
    subprocess.run([_env("HASHHUB_HUB_CONTROL"), command], check=True, timeout=RESTART_WAIT,
                   stdin=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _FreshHub:
    """A hub of its own (clients/sdk-hub.sh on new ports and an empty data folder) with one member, for the tests
    that need the hub's first snapshot to be made when they first ask for one."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="hashhub-sdk-fresh-")
        grpc_port = _free_port()
        http_port = _free_port()
        while http_port == grpc_port:
            http_port = _free_port()
        self._env = dict(os.environ, HASHHUB_HUB_DIR=self._dir, HASHHUB_HUB_GRPC_PORT=str(grpc_port),
                         HASHHUB_HUB_HTTP_PORT=str(http_port))
        self.address = f"127.0.0.1:{grpc_port}"
        self.token_url = f"http://127.0.0.1:{http_port}/connect/token"
        try:
            added = self._run("run", "admin", "add-member", "SDK Fresh Member", "--no-probation")
            self._client_id = re.search(r"^client_id: *(\S+)$", added, re.M).group(1)
            self._client_secret = re.search(r"^client_secret: *(\S+)$", added, re.M).group(1)
            self._run("start")
        except BaseException:
            self.stop()
            raise

    def _run(self, *args) -> str:
        return subprocess.run([_env("HASHHUB_HUB_CONTROL"), *args], env=self._env, check=True, timeout=RESTART_WAIT,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True).stdout

    def member(self, **options) -> HubClient:
        return HubClient(self.address, self.token_url, self._client_id, self._client_secret, **options)

    def stop(self) -> None:
        subprocess.run([_env("HASHHUB_HUB_CONTROL"), "stop"], env=self._env, timeout=RESTART_WAIT,
                       stdin=subprocess.DEVNULL)
        shutil.rmtree(self._dir, ignore_errors=True)


class _Copy:
    """A member's local copy as an application keeps it from the pages: live signals by id, and the cursor stored
    with each page applied."""

    def __init__(self) -> None:
        self.signals = {}
        self.cursor = ""

    def apply(self, page) -> None:
        if page.reset:
            self.signals.clear()
        for change in page.changes:
            if change.kind == hashhub.CHANGE_KIND_RETRACTED:
                self.signals.pop(change.signal.id, None)
            else:
                self.signals[change.signal.id] = change.signal
        self.cursor = page.cursor


def _sync_to_end(client: HubClient, cursor: str = "", page_size: int = 0):
    changes = []
    pages = 0
    for page in client.sync(cursor, page_size=page_size):
        changes.extend(page.changes)
        cursor = page.cursor
        pages += 1
    return changes, cursor, pages


class HubTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = _member("A")
        cls.b = _member("B")
        # Reads the whole log from an empty cursor, as the tests of the log's paging need.
        cls.b_log = _member("B", bootstrap_from_snapshot=False)

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()
        cls.b_log.close()

    def _takedown(self, *signals, case_reference="CASE-PY"):
        response = self.a.contribute(
            [hashhub.takedown(s, LABELS, source_kind=hashhub.SOURCE_KIND_LIVESTREAM, case_reference=case_reference)
             for s in signals])
        return response.results

    def test_token_fresh_credentials_fetches_then_reuses_until_refresh_due(self):
        now = [1000.0]
        tokens = hashhub.ClientCredentials(_env("HASHHUB_TOKEN_URL"), _env("HASHHUB_A_CLIENT_ID"),
                                           _env("HASHHUB_A_CLIENT_SECRET"), clock=lambda: now[0])
        first = tokens.token()
        now[0] += 30
        self.assertEqual(tokens.token(), first)
        self.assertEqual(tokens.fetches, 1)
        # The hub's tokens live 10 minutes; past the refresh point (a minute before expiry) a new one is fetched.
        now[0] += 9 * 60
        second = tokens.token()
        self.assertEqual(tokens.fetches, 2)
        self.assertNotEqual(second, first)
        # The refreshed token works on a call.
        client = HubClient(_env("HASHHUB_ADDRESS"), "", "", "", credentials=tokens)
        try:
            self.assertTrue(any(label.key == LABELS[0] for label in client.list_labels()))
        finally:
            client.close()

    def test_token_wrong_secret_raises_token_error(self):
        tokens = hashhub.ClientCredentials(_env("HASHHUB_TOKEN_URL"), _env("HASHHUB_A_CLIENT_ID"), "not-the-secret")
        with self.assertRaises(hashhub.TokenError) as raised:
            tokens.token()
        self.assertEqual(raised.exception.error, "invalid_client")

    def test_contribute_pdq_and_md5_paged_sync_of_b_sees_labels_and_provenance(self):
        pdq, md5 = _random_pdq(), secrets.token_hex(16)
        key = "py-takedown-" + secrets.token_hex(8)
        items = [hashhub.takedown(hashhub.pdq(pdq, quality=90), LABELS, case_reference="CASE-PY-1"),
                 hashhub.takedown(hashhub.md5(md5), LABELS, case_reference="CASE-PY-1")]
        first = self.a.contribute(items, idempotency_key=key)
        self.assertEqual([r.signal_created for r in first.results], [True, True])
        self.assertFalse(first.replayed)
        replay = self.a.contribute(items, idempotency_key=key)
        self.assertTrue(replay.replayed)
        self.assertEqual([r.signal_id for r in replay.results], [r.signal_id for r in first.results])

        changes, cursor, pages = _sync_to_end(self.b_log, "", page_size=1)
        self.assertTrue(cursor)
        self.assertGreaterEqual(pages, 2)  # two changes at least, one per page: paging was exercised
        seen = {c.signal.id: c for c in changes}
        for result, value, kind in ((first.results[0], pdq, hashhub.SIGNAL_TYPE_PDQ),
                                    (first.results[1], md5, hashhub.SIGNAL_TYPE_MD5)):
            change = seen[result.signal_id]
            self.assertEqual(change.signal.signal.type, kind)
            self.assertEqual(change.signal.signal.value, value)
            self.assertEqual(change.signal.status, hashhub.SIGNAL_STATUS_ACTIVE)
            self.assertEqual(list(change.signal.labels), sorted(LABELS))
            contribution = change.signal.contributions[0]
            self.assertEqual(contribution.id, result.contribution_id)
            self.assertEqual(contribution.provenance.member_name, _env("HASHHUB_A_NAME"))
            self.assertEqual(contribution.provenance.source_kind, hashhub.SOURCE_KIND_UPLOAD)
            self.assertEqual(contribution.provenance.case_reference, "CASE-PY-1")
            self.assertTrue(contribution.provenance.HasField("contributed_at"))
        # Each change once: the cursors are distinct, and a sync from the last cursor has nothing new (no other
        # writer runs during these tests) and keeps the cursor.
        self.assertEqual(len({c.cursor for c in changes}), len(changes))
        again, after, _ = _sync_to_end(self.b_log, cursor)
        self.assertEqual(again, [])
        self.assertEqual(after, cursor)

    def test_subscribe_b_live_receives_a_contribution_and_resumes_from_cursor(self):
        events: "queue.Queue" = queue.Queue()
        subscription = self.b.subscribe("")

        def pump():
            try:
                for event in subscription:
                    events.put(event)
            except Exception as e:  # surfaced to the test thread below
                events.put(e)
            events.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timer = threading.Timer(WAIT, subscription.close)
        timer.start()
        try:
            # First the catch-up from the start of the log, then CaughtUp: live from here on.
            self._wait_for(events, lambda e: isinstance(e, hashhub.CaughtUp))
            result = self._takedown(hashhub.pdq(_random_pdq(), quality=80))[0]
            change = self._wait_for(events, lambda e: isinstance(e, hashhub.Change) and e.signal.id == result.signal_id)
            self.assertEqual(change.kind, hashhub.CHANGE_KIND_CREATED)
            self.assertEqual(list(change.signal.labels), sorted(LABELS))
            self.assertEqual(subscription.cursor, change.cursor)
        finally:
            timer.cancel()
            subscription.close()
            reader.join(WAIT)
        self.assertFalse(reader.is_alive())

        # Resume: a new subscription from the last cursor delivers what came after it, and nothing before.
        later = self._takedown(hashhub.md5(secrets.token_hex(16)))[0]
        resumed = self.b.subscribe(subscription.cursor)
        timer = threading.Timer(WAIT, resumed.close)
        timer.start()
        try:
            first = next(iter(resumed))
            self.assertIsInstance(first, hashhub.Change)
            self.assertEqual(first.signal.id, later.signal_id)
        finally:
            timer.cancel()
            resumed.close()

    def test_subscribe_connection_cut_reconnects_and_resumes_without_loss_or_duplicates(self):
        proxy = _CuttableProxy(_env("HASHHUB_ADDRESS"))
        b = HubClient(proxy.address, _env("HASHHUB_TOKEN_URL"), _env("HASHHUB_B_CLIENT_ID"),
                      _env("HASHHUB_B_CLIENT_SECRET"))
        _, cursor, _ = _sync_to_end(b)
        events: "queue.Queue" = queue.Queue()
        subscription = b.subscribe(cursor)

        def pump():
            try:
                for event in subscription:
                    events.put(event)
            except Exception as e:
                events.put(e)
            events.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timer = threading.Timer(WAIT, subscription.close)
        timer.start()
        try:
            self._wait_for(events, lambda e: isinstance(e, hashhub.CaughtUp))
            before = self._takedown(hashhub.md5(secrets.token_hex(16)))[0]
            self._wait_for(events, lambda e: isinstance(e, hashhub.Change) and e.signal.id == before.signal_id)
            proxy.cut()  # the stream breaks; the subscription reconnects from its last cursor
            during = self._takedown(hashhub.md5(secrets.token_hex(16)))[0]
            seen = []

            def is_during(event):
                if not isinstance(event, hashhub.Change):
                    return False
                seen.append(event.signal.id)
                return event.signal.id == during.signal_id

            self._wait_for(events, is_during)
            self.assertGreaterEqual(subscription.reconnects, 1)
            self.assertNotIn(before.signal_id, seen)  # nothing delivered twice across the reconnect
        finally:
            timer.cancel()
            subscription.close()
            reader.join(WAIT)
            b.close()
            proxy.close()

    def test_subscribe_hub_killed_and_restarted_reconnects_and_holds_every_change_once_in_log_order(self):
        # B's token source runs on a clock the test moves, so that B's reconnect must fetch a new token while
        # the hub, and so its token endpoint, is down.
        now = [time.monotonic()]
        tokens = hashhub.ClientCredentials(_env("HASHHUB_TOKEN_URL"), _env("HASHHUB_B_CLIENT_ID"),
                                           _env("HASHHUB_B_CLIENT_SECRET"), clock=lambda: now[0])
        b = HubClient(_env("HASHHUB_ADDRESS"), "", "", "", credentials=tokens)
        _, start, _ = _sync_to_end(b)
        subscription = b.subscribe(start)
        applied = []  # what the live sync applied, in order: (cursor, signal id, kind)
        events: "queue.Queue" = queue.Queue()

        def pump():
            try:
                for event in subscription:
                    if isinstance(event, hashhub.Change):
                        applied.append((event.cursor, event.signal.id, event.kind))
                    events.put(event)
            except Exception as e:
                events.put(e)
            events.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        # Bounded whatever happens: the subscription is closed (and the test fails waiting) after this.
        timer = threading.Timer(RESTART_WAIT * 2, subscription.close)
        timer.start()
        acked = []
        down = False

        def contribute():
            acked.append(self._takedown(hashhub.md5(secrets.token_hex(16)))[0].signal_id)

        try:
            self._wait_for(events, lambda e: isinstance(e, hashhub.CaughtUp))
            for _ in range(3):
                contribute()
            self._wait_for(events, lambda e: isinstance(e, hashhub.Change) and e.signal.id == acked[0])
            # Mid-way: the stream is live and delivering; two more commit, and the hub dies at once, before or
            # while it sends them.
            for _ in range(2):
                contribute()
            a_fetches = self.a.tokens.fetches
            now[0] += 3600  # B's token is due: its reconnect fetches a new one, first while the hub is down
            _hub("kill")
            down = True
            _hub("start")
            down = False
            for _ in range(3):
                contribute()  # A's channel reconnects by itself
            # The signing keys are in the data folder: A's token from before the restart is still accepted.
            self.assertEqual(self.a.tokens.fetches, a_fetches)

            def all_applied(event):
                # Every acknowledged change applied, then caught up: anything the stream still held (a duplicate)
                # would have come before this. (The pump records a change before it hands on the event.)
                return isinstance(event, hashhub.CaughtUp) and set(acked) <= {signal for _, signal, _ in applied}

            try:
                self._wait_for(events, all_applied, RESTART_WAIT)
            except queue.Empty:
                self.fail(f"the live sync did not catch up after the restart: acknowledged {acked}, applied "
                          f"{[signal for _, signal, _ in applied]}, {subscription.reconnects} reconnects")
        finally:
            timer.cancel()
            subscription.close()
            reader.join(WAIT)
            if down:
                _hub("start")  # for the tests after this one
        self.assertFalse(reader.is_alive())

        log, end, _ = _sync_to_end(b, start)
        b.close()
        # The log after the restart holds exactly what A was told was committed (no other writer runs meanwhile),
        # and the live sync applied exactly the log: each change once, in log order.
        self.assertEqual([c.signal.id for c in log], acked)
        self.assertEqual(applied, [(c.cursor, c.signal.id, c.kind) for c in log])
        self.assertEqual(subscription.cursor, end)  # where the next sync resumes: the end of the log
        self.assertGreaterEqual(subscription.reconnects, 1)
        self.assertGreaterEqual(tokens.fetches, 2)

    def _wait_for(self, events: "queue.Queue", predicate, timeout: float = WAIT):
        while True:
            event = events.get(timeout=timeout)
            if isinstance(event, Exception):
                raise event
            if event is None:
                self.fail("the subscription ended before the expected event")
            if predicate(event):
                return event

    def test_match_pdq_few_bits_away_returns_signal_with_distance(self):
        value = _random_pdq()
        result = self._takedown(hashhub.pdq(value, quality=95))[0]
        upload = _flip_bits(value, [0, 17, 100, 255])
        matches = self.b.match([hashhub.pdq(upload), hashhub.md5(secrets.token_hex(16))])
        self.assertEqual(len(matches), 1)
        match = matches[0]
        self.assertEqual(match.signal.id, result.signal_id)
        self.assertEqual(match.distance, 4)
        self.assertEqual(match.query_index, 0)
        self.assertEqual(list(match.signal.labels), sorted(LABELS))
        self.assertGreater(match.confidence, 0.0)
        # Closer than the threshold only: a radius of 3 misses it.
        self.assertEqual(self.b.match([hashhub.pdq(upload)], max_distance=3), [])

        report = self.b.report_outcomes([hashhub.outcome(match.signal.id, hashhub.MATCH_OUTCOME_ACTIONED)],
                                        idempotency_key="py-outcome-" + secrets.token_hex(8))
        self.assertEqual(report.recorded, 1)

    def test_retract_a_b_sync_sees_tombstone(self):
        result = self._takedown(hashhub.sha256(secrets.token_hex(32)))[0]
        _, cursor, _ = _sync_to_end(self.b)
        signal = self.a.retract(result.contribution_id, reason="posted in error")
        self.assertEqual(signal.status, hashhub.SIGNAL_STATUS_RETRACTED)

        changes, _, _ = _sync_to_end(self.b, cursor)
        tombstones = [c for c in changes if c.signal.id == result.signal_id]
        self.assertEqual(len(tombstones), 1)
        self.assertEqual(tombstones[0].kind, hashhub.CHANGE_KIND_RETRACTED)
        self.assertEqual(tombstones[0].signal.status, hashhub.SIGNAL_STATUS_RETRACTED)

    def test_contribute_malformed_hash_invalid_argument_names_field(self):
        bad = hashhub.takedown(hashhub.pdq("zz" * 32, quality=90), LABELS)
        with self.assertRaises(hashhub.HubError) as raised:
            self.a.contribute([bad])
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        fields = [v.field for v in error.field_violations]
        self.assertIn("items[0].signal.value", fields)

    def test_retract_other_members_contribution_permission_denied(self):
        result = self._takedown(hashhub.md5(secrets.token_hex(16)))[0]
        with self.assertRaises(hashhub.HubError) as raised:
            self.b.retract(result.contribution_id)
        self.assertEqual(raised.exception.code, grpc.StatusCode.PERMISSION_DENIED)

    def test_update_labels_then_get_signal_by_value_shows_new_labels(self):
        value = secrets.token_hex(16)
        result = self._takedown(hashhub.md5(value))[0]
        contribution = self.a.update_labels(result.contribution_id, ["behavior:glorification"])
        self.assertEqual(list(contribution.labels), ["behavior:glorification"])
        record = self.b.get_signal(signal=hashhub.md5(value))
        self.assertEqual(record.id, result.signal_id)
        self.assertEqual(list(record.labels), ["behavior:glorification"])
        self.assertEqual(self.b.get_signal(signal_id=result.signal_id).signal.value, value)

    def test_readme_snippet_runs_against_hub(self):
        readme = pathlib.Path(__file__).resolve().parents[1] / "README.md"
        block = re.search(r"<!-- snippet -->\s*```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
        self.assertIsNotNone(block, "README.md has no snippet block")
        env = dict(os.environ, HASHHUB_CLIENT_ID=_env("HASHHUB_A_CLIENT_ID"),
                   HASHHUB_CLIENT_SECRET=_env("HASHHUB_A_CLIENT_SECRET"), PYTHONPATH=str(readme.parent))
        result = subprocess.run([sys.executable, "-c", block.group(1)], env=env, capture_output=True, text=True,
                                timeout=WAIT * 2)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"match \S+ distance 4 labels \['behavior:glorification', 'content_type:image'\]")
        self.assertIn("caught up at", result.stdout)


class SnapshotBootstrapTests(unittest.TestCase):
    """A sync from an empty cursor starts from the hub's snapshot (Snapshots/ReadSnapshot) and then reads the log."""

    def _contribute(self, client: HubClient, count: int):
        return client.contribute([hashhub.takedown(hashhub.md5(secrets.token_hex(16)), LABELS)
                                  for _ in range(count)]).results

    def test_sync_first_from_fresh_snapshot_holds_each_active_signal_once_without_tombstones_then_reads_log(self):
        hub = _FreshHub()
        try:
            member = hub.member()
            replay = hub.member(bootstrap_from_snapshot=False)
            try:
                results = self._contribute(member, 7)
                retracted = results[:2]
                for result in retracted:
                    member.retract(result.contribution_id)
                member.update_labels(results[2].contribution_id, ["behavior:glorification"])
                active = {r.signal_id for r in results[2:]}

                # The first sync: this hub's first snapshot is made now, at the log's head.
                pages = list(member.sync("", page_size=2))
                snapshot = [p for p in pages if p.from_snapshot]
                self.assertEqual(len(snapshot), 3)  # 5 records, 2 a page, the last page with the cursor
                self.assertTrue(snapshot[0].reset)
                self.assertFalse(any(p.reset for p in pages[1:]))
                self.assertEqual([p.cursor for p in snapshot[:-1]], ["", ""])  # no cursor until the last page
                self.assertTrue(snapshot[-1].cursor)
                records = [c.signal for p in snapshot for c in p.changes]
                self.assertEqual(sorted(r.id for r in records), sorted(active))  # each active signal once
                self.assertTrue(all(r.status == hashhub.SIGNAL_STATUS_ACTIVE for r in records))
                # Then the log after the snapshot, which holds nothing newer: no tombstone of the two retracted before.
                log = [c for p in pages if not p.from_snapshot for c in p.changes]
                self.assertEqual(log, [])
                copy = _Copy()
                for page in pages:
                    copy.apply(page)
                self.assertEqual(list(copy.signals[results[2].signal_id].labels), ["behavior:glorification"])

                # A later sync reads only the log after the cursor: the new signal and the tombstone.
                later = self._contribute(member, 1)[0]
                member.retract(results[3].contribution_id)
                pages = list(member.sync(copy.cursor))
                self.assertFalse(any(p.from_snapshot or p.reset for p in pages))
                self.assertEqual([(c.signal.id, c.kind) for p in pages for c in p.changes],
                                 [(later.signal_id, hashhub.CHANGE_KIND_CREATED),
                                  (results[3].signal_id, hashhub.CHANGE_KIND_RETRACTED)])
                for page in pages:
                    copy.apply(page)

                # The same copy as reading the whole log from an empty cursor.
                full = _Copy()
                for page in replay.sync(""):
                    self.assertFalse(page.from_snapshot)
                    full.apply(page)
                self.assertEqual(copy.signals, full.signals)

                # A live subscription from an empty cursor bootstraps the same way, then catches up from the log.
                events = []
                with member.subscribe("") as live:
                    for event in live:
                        events.append(event)
                        if isinstance(event, hashhub.CaughtUp):
                            break
                snapshot = [e for e in events if isinstance(e, hashhub.Page)]
                self.assertTrue(snapshot and snapshot[0].reset and snapshot[-1].cursor)
                copy = _Copy()
                for event in events:
                    if isinstance(event, hashhub.Page):
                        copy.apply(event)
                    elif isinstance(event, hashhub.Change):
                        copy.apply(hashhub.Page([event], event.cursor, True))
                self.assertEqual(copy.signals, full.signals)
            finally:
                member.close()
                replay.close()
        finally:
            hub.stop()

    def test_sync_bootstrap_cut_off_half_way_stores_no_cursor_and_next_sync_starts_over(self):
        a = _member("A")
        replay = _member("A", bootstrap_from_snapshot=False)
        try:
            self._contribute(a, 3)
            copy = _Copy()
            stored = []
            # The application dies after applying (and storing) two pages of the snapshot.
            for page in a.sync("", page_size=1):
                self.assertTrue(page.from_snapshot)
                copy.apply(page)
                stored.append(page.cursor)
                if len(stored) == 2:
                    break
            self.assertEqual(stored, ["", ""])  # no cursor saved: the next sync cannot skip the rest of the snapshot
            self.assertEqual(len(copy.signals), 2)
            stale = {"stale-signal-id": copy.signals[next(iter(copy.signals))]}
            copy.signals.update(stale)  # anything held before must go: the first page resets

            pages = list(a.sync(copy.cursor, page_size=1000))
            self.assertTrue(pages[0].from_snapshot and pages[0].reset)
            for page in pages:
                copy.apply(page)
            full = _Copy()
            for page in replay.sync(""):
                full.apply(page)
            self.assertNotIn("stale-signal-id", copy.signals)
            self.assertEqual(copy.signals, full.signals)
            self.assertEqual(_sync_to_end(a, copy.cursor)[0], [])
        finally:
            a.close()
            replay.close()

    def test_sync_bootstrap_from_snapshot_off_replays_the_log_with_tombstones(self):
        client = _member("A", bootstrap_from_snapshot=False)
        try:
            gone = self._contribute(client, 1)[0]
            client.retract(gone.contribution_id)
            pages = list(client.sync("", page_size=500))
            self.assertFalse(any(p.from_snapshot or p.reset for p in pages))
            self.assertTrue(all(p.cursor for p in pages))
            changes = [c for p in pages for c in p.changes]
            # The log, not a snapshot: the signal's creation and then its tombstone, each change with its cursor.
            self.assertEqual([c.kind for c in changes if c.signal.id == gone.signal_id],
                             [hashhub.CHANGE_KIND_CREATED, hashhub.CHANGE_KIND_RETRACTED])
            self.assertTrue(all(c.cursor for c in changes))
            with client.subscribe("") as live:
                for event in live:
                    self.assertNotIsInstance(event, hashhub.Page)
                    if isinstance(event, hashhub.CaughtUp):
                        break
        finally:
            client.close()


if __name__ == "__main__":
    unittest.main()
