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
public sealed record SyncResult(long ChangesApplied, int Pages, bool Bootstrapped, bool Resynced, string Cursor);

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
}

/// <summary>One event of live sync.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Changes">For <see cref="SyncEventKind.Applied"/>: how many changes.</param>
/// <param name="Cursor">The cursor saved in the store after the event.</param>
/// <param name="Error">For <see cref="SyncEventKind.Disconnected"/>: why.</param>
/// <param name="SignalValues">For <see cref="SyncEventKind.Applied"/>: the values of the signals changed.</param>
public sealed record SyncEvent(SyncEventKind Kind, int Changes, string Cursor, Exception? Error, IReadOnlyList<string> SignalValues);

/// <summary>What the local store holds.</summary>
/// <param name="StorePath">The store's file.</param>
/// <param name="Cursor">The saved sync cursor (empty before the first sync).</param>
/// <param name="SignalsHeld">Signals in the store, active and retracted.</param>
/// <param name="ActiveSignals">Signals members should match against.</param>
/// <param name="ChangesApplied">Changes applied since the store was created (or last resynced).</param>
/// <param name="LastSyncedAt">When a page was last committed.</param>
/// <param name="IndexedSignals">Entries in the in-memory match index.</param>
public sealed record StoreStatus(string StorePath, string Cursor, long SignalsHeld, long ActiveSignals, long ChangesApplied, DateTimeOffset? LastSyncedAt, int IndexedSignals);
