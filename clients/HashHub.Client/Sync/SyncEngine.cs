using Grpc.Core;
using HashHub.Client.Auth;
using HashHub.Client.Matching;
using HashHub.Client.Store;
using HashHub.Protos.V1;
using Microsoft.Extensions.Logging;

namespace HashHub.Client.Sync;

/// <summary>
/// Paged and live sync from the hub's change log into the store, then into the match index. One page at a time:
/// pages are the unit of the store's transactions, and the index changes only after a page committed.
/// </summary>
internal sealed partial class SyncEngine(
    Protos.V1.Sync.SyncClient sync, TokenSource tokens, LocalStore store, LocalIndex index, HubClientOptions options, ILogger logger)
{
    /// <summary>Live mode applies a burst at most this large per transaction.</summary>
    private const int LiveFlushSize = 500;

    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly TimeProvider _time = options.TimeProvider;

    /// <summary>Reads pages until the hub has nothing newer.</summary>
    public async Task<SyncResult> SyncAsync(IProgress<SyncResult>? progress, CancellationToken cancellationToken)
    {
        var cursor = store.ReadCursor();
        var bootstrapped = cursor.Length == 0;
        var resynced = false;
        var reset = false;
        long applied = 0;
        var pages = 0;
        while (true)
        {
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
                return new SyncResult(applied, pages, bootstrapped, resynced, cursor, lag);
            }
            progress?.Report(new SyncResult(applied, pages, bootstrapped, resynced, cursor, lag));
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

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Live sync disconnected ({Reason}); reconnecting in {DelayMs} ms")]
    private static partial void LogDisconnected(ILogger logger, string reason, double delayMs);

    /// <summary>Another sync of the same store applied pages meanwhile (live mode resubscribes from its cursor).</summary>
    private sealed class StaleCursorException : Exception;
}
