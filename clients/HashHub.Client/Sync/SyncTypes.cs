namespace HashHub.Client.Sync;

/// <summary>The outcome of one <see cref="HashHubClient.SyncAsync(CancellationToken)"/>.</summary>
/// <param name="ChangesApplied">Changes applied by this sync.</param>
/// <param name="Pages">Pages read (one store transaction each).</param>
/// <param name="Bootstrapped">True when the sync started from an empty cursor (a first sync or a resync).</param>
/// <param name="Resynced">
/// True when the hub answered "resync required" (the cursor belongs to another change log, for example after the hub
/// was rebuilt): the local copy was replaced by a fresh bootstrap.
/// </param>
/// <param name="Cursor">The cursor saved with the last page.</param>
/// <param name="Lag">
/// How far <paramref name="Cursor"/> was behind the hub when the last page was read: zero changes at the end of a sync;
/// during one (progress reports) an upper bound of what remains. Null when the hub did not say (an older hub).
/// </param>
/// <param name="FromSnapshot">
/// True when the store was filled from the hub's snapshot (<see cref="HubClientOptions.BootstrapFromSnapshot"/>) before the
/// changes after it were read: <paramref name="ChangesApplied"/> then counts the snapshot's signal records too.
/// </param>
public sealed record SyncResult(long ChangesApplied, int Pages, bool Bootstrapped, bool Resynced, string Cursor, SyncLag? Lag = null, bool FromSnapshot = false);

/// <summary>How far a sync cursor is behind the hub's change log, as the hub last said.</summary>
/// <param name="ChangesBehind">
/// Changes the hub's log held after the cursor: an upper bound of what a sync still has to apply, not an exact count,
/// because it includes changes this member will never receive (contributions shared only with sharing groups it is
/// not in, or held for review) and, rarely, sequence numbers the hub's database left unused. 0 means up to date.
/// </param>
/// <param name="HeadCommittedAt">When the newest change in the hub's log was committed (the hub's clock); null while the log is empty.</param>
/// <param name="CursorCommittedAt">When the change at the cursor was committed (the hub's clock); null for a store never synced.</param>
/// <param name="ObservedAt">When the hub said so (this client's clock).</param>
public sealed record SyncLag(long ChangesBehind, DateTimeOffset? HeadCommittedAt, DateTimeOffset? CursorCommittedAt, DateTimeOffset ObservedAt)
{
    /// <summary>True when nothing was committed after the cursor.</summary>
    public bool UpToDate => ChangesBehind == 0;

    /// <summary>
    /// How much newer the hub's newest change is than the cursor's: zero when up to date; null when the cursor is at
    /// the start of the log (a store never synced), which has no change to compare with.
    /// </summary>
    public TimeSpan? TimeBehind
    {
        get
        {
            if (UpToDate || HeadCommittedAt is not { } head)
            {
                return TimeSpan.Zero;
            }
            // Commit times come from the hub's clock, which may step back a little between nodes: never negative.
            return CursorCommittedAt is { } cursor ? (head > cursor ? head - cursor : TimeSpan.Zero) : null;
        }
    }

    /// <summary>The lag the hub described in <paramref name="head"/>, observed at <paramref name="now"/>; null when the hub did not say.</summary>
    internal static SyncLag? From(Protos.V1.LogHead? head, DateTimeOffset now) => head is null
        ? null
        : new SyncLag(head.ChangesAfterCursor, head.HeadCommittedAt?.ToDateTimeOffset(), head.CursorCommittedAt?.ToDateTimeOffset(), now);
}

/// <summary>What happened in live sync.</summary>
public enum SyncEventKind
{
    /// <summary>The subscription to the hub is open.</summary>
    Connected,

    /// <summary>Changes were committed to the store and applied to the match index.</summary>
    Applied,

    /// <summary>The hub says nothing newer is committed (sent after catch-up, after each burst, and as a heartbeat).</summary>
    CaughtUp,

    /// <summary>The hub answered "resync required": the local copy is being replaced by a fresh bootstrap.</summary>
    Resyncing,

    /// <summary>The subscription broke (the hub restarted, the network failed); it reconnects after a backoff.</summary>
    Disconnected,

    /// <summary>
    /// The store, which had no cursor, was filled from the hub's snapshot (<see cref="HubClientOptions.BootstrapFromSnapshot"/>):
    /// <see cref="SyncEvent.Changes"/> says how many signal records it held; the subscription goes on from its cursor.
    /// </summary>
    Bootstrapped,
}

/// <summary>One event of live sync.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Changes">For <see cref="SyncEventKind.Applied"/>: how many changes; for <see cref="SyncEventKind.Bootstrapped"/>: how many signal records.</param>
/// <param name="Cursor">The cursor saved in the store after the event.</param>
/// <param name="Error">For <see cref="SyncEventKind.Disconnected"/>: why.</param>
/// <param name="SignalValues">For <see cref="SyncEventKind.Applied"/>: the values of the signals changed.</param>
/// <param name="Lag">For <see cref="SyncEventKind.CaughtUp"/>: the hub's head as it said with the catch-up (zero changes behind).</param>
public sealed record SyncEvent(SyncEventKind Kind, int Changes, string Cursor, Exception? Error, IReadOnlyList<string> SignalValues, SyncLag? Lag = null);

/// <summary>What the local store holds.</summary>
/// <param name="StorePath">The store's file.</param>
/// <param name="Cursor">The saved sync cursor (empty before the first sync).</param>
/// <param name="SignalsHeld">Signals in the store, active and retracted.</param>
/// <param name="ActiveSignals">Signals members should match against.</param>
/// <param name="ChangesApplied">Changes applied since the store was created (or last resynced).</param>
/// <param name="LastSyncedAt">When a page was last committed.</param>
/// <param name="IndexedSignals">Entries in the in-memory match index.</param>
/// <param name="LastKnownLag">
/// How far the saved cursor was behind the hub when it was saved (read from the store, so known offline); null before the
/// first sync, or when the hub did not say. <see cref="HashHubClient.GetLagAsync(CancellationToken)"/> asks the hub for now.
/// </param>
public sealed record StoreStatus(
    string StorePath, string Cursor, long SignalsHeld, long ActiveSignals, long ChangesApplied, DateTimeOffset? LastSyncedAt, int IndexedSignals, SyncLag? LastKnownLag = null);
