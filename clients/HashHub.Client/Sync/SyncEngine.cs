using Grpc.Core;
using HashHub.Client.Auth;
using HashHub.Client.Matching;
using HashHub.Client.Store;
using HashHub.Protos.V1;
using Microsoft.Extensions.Logging;

namespace HashHub.Client.Sync;

/// <summary>
/// Paged and live sync from the hub's change log into the store, then into the match index. One page at a time:
/// pages are the unit of the store's transactions, and the index changes only after a page committed. A store with no
/// cursor (a first sync, or a resync) starts from the hub's snapshot (snapshots.proto) and reads the log after it.
/// </summary>
internal sealed partial class SyncEngine(
    Protos.V1.Sync.SyncClient sync, Snapshots.SnapshotsClient snapshots, TokenSource tokens, LocalStore store, LocalIndex index, HubClientOptions options, ILogger logger)
{
    /// <summary>Attempts at reading a snapshot before the error reaches the caller.</summary>
    private const int MaxSnapshotAttempts = 4;

    /// <summary>Live mode applies a burst at most this large per transaction.</summary>
    private const int LiveFlushSize = 500;

    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly TimeProvider _time = options.TimeProvider;
    private bool _snapshots = options.BootstrapFromSnapshot;

    /// <summary>Reads pages until the hub has nothing newer.</summary>
    public async Task<SyncResult> SyncAsync(IProgress<SyncResult>? progress, CancellationToken cancellationToken)
    {
        var cursor = store.ReadCursor();
        var bootstrapped = cursor.Length == 0;
        var resynced = false;
        var reset = false;
        var fromSnapshot = false;
        long applied = 0;
        var pages = 0;
        while (true)
        {
            if (cursor.Length == 0 && _snapshots)
            {
                try
                {
                    var (records, chunks, snapshotCursor, snapshotLag) = await BootstrapAsync(cancellationToken).ConfigureAwait(false);
                    reset = false;
                    applied += records;
                    pages += chunks;
                    cursor = snapshotCursor;
                    fromSnapshot = true;
                    progress?.Report(new SyncResult(applied, pages, bootstrapped, resynced, cursor, snapshotLag, fromSnapshot));
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
                {
                    // A hub without snapshots: read its whole log instead.
                    _snapshots = false;
                    LogNoSnapshots(logger);
                }
                catch (StaleCursorException)
                {
                    // Another sync of this store bootstrapped it meanwhile: go on from where it got to.
                    cursor = store.ReadCursor();
                    continue;
                }
            }
            ReadChangesResponse page;
            try
            {
                page = await sync.ReadChangesAsync(new ReadChangesRequest { Cursor = cursor, PageSize = options.SyncPageSize }, cancellationToken: cancellationToken)
                    .ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (IsResyncRequired(e) && !resynced)
            {
                // DESIGN.md invariant 3: the hub never skips silently; it says so, and the member starts over. The old
                // copy is dropped in the transaction of the first new page, so matching goes on until then.
                LogResync(logger, e.Status.Detail);
                cursor = string.Empty;
                resynced = reset = bootstrapped = true;
                continue;
            }
            // The hub's head as it was when the page was read, saved with the cursor it describes (status shows it offline).
            var lag = SyncLag.From(page.Head, _time.GetUtcNow());
            if (!await ApplyAsync(page.Changes, cursor, page.NextCursor, reset, lag, cancellationToken).ConfigureAwait(false))
            {
                // Another sync of this store moved the cursor meanwhile: go on from where it got to.
                cursor = store.ReadCursor();
                continue;
            }
            reset = false;
            applied += page.Changes.Count;
            pages++;
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return new SyncResult(applied, pages, bootstrapped, resynced, cursor, lag, fromSnapshot);
            }
            progress?.Report(new SyncResult(applied, pages, bootstrapped, resynced, cursor, lag, fromSnapshot));
        }
    }

    /// <summary>
    /// Replaces the store's content with the hub's snapshot, a batch of <see cref="HubClientOptions.SyncPageSize"/> records
    /// per transaction. The cursor stays empty until the last batch, which saves the snapshot's: a bootstrap cut off
    /// half-way starts over (its first batch drops what the store held), rather than going on from a cursor that would
    /// skip the rest of the snapshot. A broken stream is read again from the start, a few times, after a backoff; a
    /// rejected token is renewed once per attempt (streams do not pass through <see cref="Resilience.HubCallInterceptor"/>).
    /// </summary>
    /// <returns>The records applied, the transactions, and the cursor and lag saved.</returns>
    private async Task<(long Records, int Batches, string Cursor, SyncLag? Lag)> BootstrapAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var token = await tokens.GetAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await ReadSnapshotAsync(token, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && attempt < MaxSnapshotAttempts)
            {
                tokens.Invalidate(token);
            }
            catch (RpcException e) when (attempt < MaxSnapshotAttempts && !cancellationToken.IsCancellationRequested
                && e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.DataLoss or StatusCode.ResourceExhausted)
            {
                // Over the snapshot rate limit, the hub says when to come back.
                var delay = Resilience.HubCallInterceptor.Pushback(e) ?? Backoff(attempt);
                LogSnapshotRetry(logger, e.Message, delay.TotalMilliseconds);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<(long Records, int Batches, string Cursor, SyncLag? Lag)> ReadSnapshotAsync(string token, CancellationToken cancellationToken)
    {
        var headers = new Metadata { { "authorization", "Bearer " + token } };
        using var call = snapshots.ReadSnapshot(new ReadSnapshotRequest(), headers, cancellationToken: cancellationToken);
        var from = store.ReadCursor();
        var first = true;
        var batch = new List<Change>(options.SyncPageSize);
        long records = 0;
        var batches = 0;
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var chunk = call.ResponseStream.Current;
            foreach (var record in chunk.Signals)
            {
                batch.Add(new Change { Kind = ChangeKind.Created, Signal = record });
                if (batch.Count == options.SyncPageSize)
                {
                    await ApplyOrThrowAsync(batch, from, string.Empty, reset: first, lag: null, cancellationToken).ConfigureAwait(false);
                    from = string.Empty;
                    first = false;
                    batches++;
                    batch.Clear();
                }
            }
            records += chunk.Signals.Count;
            if (chunk.Cursor.Length > 0)
            {
                if (chunk.TotalSignals != records)
                {
                    throw new RpcException(new Status(StatusCode.DataLoss, $"The snapshot said it held {chunk.TotalSignals} signals; {records} arrived."));
                }
                var lag = SyncLag.From(chunk.Head, _time.GetUtcNow());
                await ApplyOrThrowAsync(batch, from, chunk.Cursor, reset: first, lag, cancellationToken).ConfigureAwait(false);
                return (records, batches + 1, chunk.Cursor, lag);
            }
        }
        throw new RpcException(new Status(StatusCode.Unavailable, "The snapshot ended before its last chunk."));
    }

    private async Task ApplyOrThrowAsync(List<Change> batch, string from, string cursor, bool reset, SyncLag? lag, CancellationToken cancellationToken)
    {
        if (!await ApplyAsync(batch, from, cursor, reset, lag, cancellationToken).ConfigureAwait(false))
        {
            throw new StaleCursorException();
        }
    }

    /// <summary>
    /// Keeps a subscription open until cancelled: applies each burst, and after any failure reconnects with jittered
    /// exponential backoff and resumes from the cursor saved in the store, so a hub restart loses nothing and repeats nothing.
    /// </summary>
    public async Task RunLiveAsync(Action<SyncEvent>? onEvent, CancellationToken cancellationToken)
    {
        var failures = 0;
        var reset = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            var cursor = reset ? string.Empty : store.ReadCursor();
            var from = cursor;
            string? token = null;
            var buffer = new List<Change>();
            try
            {
                if (cursor.Length == 0 && _snapshots)
                {
                    try
                    {
                        var (records, _, snapshotCursor, _) = await BootstrapAsync(cancellationToken).ConfigureAwait(false);
                        reset = false;
                        cursor = from = snapshotCursor;
                        onEvent?.Invoke(new SyncEvent(SyncEventKind.Bootstrapped, (int)Math.Min(records, int.MaxValue), cursor, null, []));
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
                    {
                        _snapshots = false;
                        LogNoSnapshots(logger);
                    }
                }
                token = await tokens.GetAsync(cancellationToken).ConfigureAwait(false);
                var headers = new Metadata { { "authorization", "Bearer " + token } };
                using var call = sync.Subscribe(new SubscribeRequest { Cursor = cursor }, headers, cancellationToken: cancellationToken);
                var connected = false;
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    // The first message, not the headers, proves the subscription: an error (resync required, say)
                    // arrives as a trailers-only answer whose headers look like any other.
                    if (!connected)
                    {
                        connected = true;
                        onEvent?.Invoke(new SyncEvent(SyncEventKind.Connected, 0, cursor, null, []));
                    }
                    failures = 0;
                    var response = call.ResponseStream.Current;
                    if (response.EventCase == SubscribeResponse.EventOneofCase.Change)
                    {
                        buffer.Add(response.Change);
                        if (buffer.Count >= LiveFlushSize)
                        {
                            from = await FlushAsync(buffer, from, buffer[^1].Cursor, reset, lag: null, onEvent, cancellationToken).ConfigureAwait(false);
                            reset = false;
                        }
                    }
                    else if (response.EventCase == SubscribeResponse.EventOneofCase.CaughtUp)
                    {
                        // The hub sends CaughtUp after each burst: the moment to commit it, with the cursor it names.
                        var caughtUp = response.CaughtUp.Cursor;
                        var lag = SyncLag.From(response.CaughtUp.Head, _time.GetUtcNow());
                        if (buffer.Count > 0 || reset || caughtUp != from)
                        {
                            from = await FlushAsync(buffer, from, caughtUp, reset, lag, onEvent, cancellationToken).ConfigureAwait(false);
                            reset = false;
                        }
                        onEvent?.Invoke(new SyncEvent(SyncEventKind.CaughtUp, 0, caughtUp, null, [], lag));
                    }
                }
                // The hub closed the stream (a graceful shutdown): reconnect.
                throw new RpcException(new Status(StatusCode.Unavailable, "The hub closed the subscription."));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (StaleCursorException)
            {
                // Another sync of this store got ahead: resubscribe from its cursor at once.
                continue;
            }
            catch (RpcException e) when (IsResyncRequired(e))
            {
                LogResync(logger, e.Status.Detail);
                reset = true;
                onEvent?.Invoke(new SyncEvent(SyncEventKind.Resyncing, 0, string.Empty, e, []));
                continue;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException)
            {
                // Changes received but not committed are dropped: the saved cursor is before them, so they come again.
                if (e is RpcException { StatusCode: StatusCode.Unauthenticated } && token is not null)
                {
                    tokens.Invalidate(token);
                }
                failures++;
                var delay = Backoff(failures);
                LogDisconnected(logger, e.Message, delay.TotalMilliseconds);
                onEvent?.Invoke(new SyncEvent(SyncEventKind.Disconnected, 0, store.ReadCursor(), e, []));
                try
                {
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <returns>The cursor now saved.</returns>
    private async Task<string> FlushAsync(
        List<Change> buffer, string from, string cursor, bool reset, SyncLag? lag, Action<SyncEvent>? onEvent, CancellationToken cancellationToken)
    {
        if (!await ApplyAsync(buffer, from, cursor, reset, lag, cancellationToken).ConfigureAwait(false))
        {
            throw new StaleCursorException();
        }
        if (buffer.Count > 0)
        {
            onEvent?.Invoke(new SyncEvent(SyncEventKind.Applied, buffer.Count, cursor, null, [.. buffer.Select(c => c.Signal.Signal.Value)]));
        }
        buffer.Clear();
        return cursor;
    }

    /// <returns>False when the store's cursor had moved past <paramref name="from"/>; nothing was applied.</returns>
    private async Task<bool> ApplyAsync(IReadOnlyList<Change> changes, string from, string cursor, bool reset, SyncLag? lag, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The store commits first; only a committed page reaches the index, so a rolled-back page is never matched.
            var indexChanges = store.ApplyPage(changes, from, cursor, reset, _time.GetUtcNow(), lag);
            if (indexChanges is null)
            {
                return false;
            }
            if (reset)
            {
                index.Reset();
            }
            index.Apply(indexChanges);
            return true;
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Asks the hub how far the store's cursor is behind, without reading changes.</summary>
    public async Task<SyncLag> GetLagAsync(CancellationToken cancellationToken)
    {
        var head = await sync.GetLogHeadAsync(new GetLogHeadRequest { Cursor = store.ReadCursor() }, cancellationToken: cancellationToken)
            .ResponseAsync.ConfigureAwait(false);
        return SyncLag.From(head, _time.GetUtcNow())!;
    }

    /// <summary>Equal jitter over an exponential ceiling (0.5 s, 1 s, 2 s ... capped at 30 s), so members reconnecting after a hub restart spread out.</summary>
    private static TimeSpan Backoff(int failures)
    {
        var ceiling = Math.Min(30_000, 500 * Math.Pow(2, Math.Min(failures - 1, 10)));
        return TimeSpan.FromMilliseconds((ceiling / 2) + (Random.Shared.NextDouble() * ceiling / 2));
    }

    private static bool IsResyncRequired(RpcException e) =>
        e.StatusCode == StatusCode.FailedPrecondition && e.Status.Detail.Contains("resync required", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "The hub requires a resync ({Detail}); replacing the local copy")]
    private static partial void LogResync(ILogger logger, string detail);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Reading the hub's snapshot failed ({Reason}); reading it again in {DelayMs} ms")]
    private static partial void LogSnapshotRetry(ILogger logger, string reason, double delayMs);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "The hub serves no snapshots; bootstrapping from its whole change log")]
    private static partial void LogNoSnapshots(ILogger logger);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Live sync disconnected ({Reason}); reconnecting in {DelayMs} ms")]
    private static partial void LogDisconnected(ILogger logger, string reason, double delayMs);

    /// <summary>Another sync of the same store applied pages meanwhile (live mode resubscribes from its cursor).</summary>
    private sealed class StaleCursorException : Exception;
}
