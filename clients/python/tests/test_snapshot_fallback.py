"""The bootstrap's failure paths, against an in-process stand-in for the hub (grpc server on loopback): a hub
without snapshots (UNIMPLEMENTED) is read from its log, and a snapshot stream that ends before its cursor chunk is
read again from its start. The real hub neither lacks snapshots nor breaks a stream on demand."""

import unittest
from concurrent import futures

import grpc

import hashhub
from hashhub.v1 import signals_pb2, snapshots_pb2, snapshots_pb2_grpc, sync_pb2, sync_pb2_grpc


def _record(signal_id: str, status=signals_pb2.SIGNAL_STATUS_ACTIVE) -> signals_pb2.SignalRecord:
    return signals_pb2.SignalRecord(id=signal_id, status=status,
                                    signal=signals_pb2.Signal(type=signals_pb2.SIGNAL_TYPE_MD5, value=signal_id * 16))


class _Log(sync_pb2_grpc.SyncServicer):
    """A log of four changes: a and b created, b retracted, then c, after the snapshot's position (3)."""

    def __init__(self) -> None:
        self.cursors = []

    def ReadChanges(self, request, context):
        self.cursors.append(request.cursor)
        log = [sync_pb2.Change(kind=sync_pb2.CHANGE_KIND_CREATED, signal=_record("a"), cursor="1"),
               sync_pb2.Change(kind=sync_pb2.CHANGE_KIND_CREATED, signal=_record("b"), cursor="2"),
               sync_pb2.Change(kind=sync_pb2.CHANGE_KIND_RETRACTED,
                               signal=_record("b", signals_pb2.SIGNAL_STATUS_RETRACTED), cursor="3"),
               sync_pb2.Change(kind=sync_pb2.CHANGE_KIND_CREATED, signal=_record("c"), cursor="4")]
        after = [c for c in log if int(c.cursor) > int(request.cursor or "0")]
        return sync_pb2.ReadChangesResponse(changes=after, next_cursor=after[-1].cursor if after else request.cursor,
                                            has_more=False)


class _BreakingSnapshots(snapshots_pb2_grpc.SnapshotsServicer):
    """The snapshot at position 3 (only a is live there): the first stream ends after one chunk, before its cursor
    chunk, as when the connection breaks; with ``miscount`` every stream says it held one record more than it did."""

    def __init__(self, miscount: bool = False) -> None:
        self.calls = 0
        self._miscount = miscount

    def ReadSnapshot(self, request, context):
        self.calls += 1
        yield snapshots_pb2.SnapshotChunk(signals=[_record("a")])
        if self.calls == 1 and not self._miscount:
            return
        yield snapshots_pb2.SnapshotChunk(cursor="3", total_signals=2 if self._miscount else 1)


class _Tokens:
    def token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        pass


class SnapshotFallbackTests(unittest.TestCase):
    def _hub(self, snapshots=None, **options):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        log = _Log()
        sync_pb2_grpc.add_SyncServicer_to_server(log, server)
        if snapshots is not None:
            snapshots_pb2_grpc.add_SnapshotsServicer_to_server(snapshots, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self.addCleanup(server.stop, None)
        client = hashhub.HubClient(f"127.0.0.1:{port}", "", "", "", credentials=_Tokens(), **options)
        self.addCleanup(client.close)
        return client, log

    def test_sync_hub_without_snapshots_reads_whole_log_and_stops_asking(self):
        client, log = self._hub()
        pages = list(client.sync(""))
        self.assertFalse(any(p.from_snapshot or p.reset for p in pages))
        self.assertEqual([c.cursor for p in pages for c in p.changes], ["1", "2", "3", "4"])
        self.assertFalse(client.snapshots)  # UNIMPLEMENTED once: the log from then on
        self.assertEqual(log.cursors, [""])

    def test_sync_snapshot_stream_ends_before_cursor_reads_it_again_and_resets(self):
        snapshots = _BreakingSnapshots()
        client, log = self._hub(snapshots)
        pages = list(client.sync("", page_size=1))
        self.assertEqual(snapshots.calls, 2)
        # The first attempt's page, then the second attempt from its start (resetting again), then the log after 3.
        self.assertEqual([(p.from_snapshot, p.reset, p.cursor, [c.signal.id for c in p.changes]) for p in pages],
                         [(True, True, "", ["a"]), (True, True, "", ["a"]), (True, False, "3", []),
                          (False, False, "4", ["c"])])
        self.assertEqual(log.cursors, ["3"])

    def test_sync_snapshot_short_of_its_total_is_read_again_then_raises_data_loss(self):
        snapshots = _BreakingSnapshots(miscount=True)
        client, log = self._hub(snapshots, retries=1)
        with self.assertRaises(hashhub.HubError) as raised:
            list(client.sync(""))
        self.assertEqual(raised.exception.code, grpc.StatusCode.DATA_LOSS)
        self.assertEqual(snapshots.calls, 2)  # read again once (retries=1), then the error
        self.assertEqual(log.cursors, [])  # no log read from a snapshot that did not add up


if __name__ == "__main__":
    unittest.main()
