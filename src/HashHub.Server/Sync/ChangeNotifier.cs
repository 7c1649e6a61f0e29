namespace HashHub.Server.Sync;

/// <summary>
/// Wakes live subscribers and the match-index feeder of this node when a write committed here, or (on
/// PostgreSQL, <see cref="PostgresChangeListener"/>) on any node sharing the database. Subscribers also poll on a
/// short period, so a notification lost on the way delays a change but never loses it.
/// </summary>
public sealed class ChangeNotifier
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _announcedHead;
    private long _unknownHeads;

    /// <summary>A task that completes at the next <see cref="Notify"/>.</summary>
    public Task NextAsync() => Volatile.Read(ref _next).Task;

    /// <summary>The highest change-log sequence number a notification has named as committed so far.</summary>
    public long AnnouncedHead => Interlocked.Read(ref _announcedHead);

    /// <summary>
    /// How many notifications so far named no head: a commit whose sequence numbers were not seen, a listener
    /// that (re)connected and may have missed commits. A reader that relies on <see cref="AnnouncedHead"/> reads
    /// the log whenever this moves.
    /// </summary>
    public long UnknownHeads => Interlocked.Read(ref _unknownHeads);

    /// <summary>
    /// Called after a commit that appended changes, with the highest sequence number it committed when known
    /// (null otherwise, or when changes may have been missed).
    /// </summary>
    public void Notify(long? head = null)
    {
        // Recorded before the wake-up, so that whoever wakes sees it.
        if (head is { } h)
        {
            for (var seen = Interlocked.Read(ref _announcedHead); h > seen; seen = Interlocked.Read(ref _announcedHead))
            {
                if (Interlocked.CompareExchange(ref _announcedHead, h, seen) == seen)
                {
                    break;
                }
            }
        }
        else
        {
            Interlocked.Increment(ref _unknownHeads);
        }
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
