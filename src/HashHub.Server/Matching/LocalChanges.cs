namespace HashHub.Server.Matching;

/// <summary>
/// Change-log runs this node committed, handed to <see cref="MatchIndexFeeder"/> with their signals, so that the
/// feeder applies them without reading them back from the database (DESIGN.md, Matching: the index follows the
/// change log). The feeder still reads everything else: other nodes' changes, writes that post nothing here, and
/// any run it takes from here that it has already read. Posting is an optimisation only: a run that is dropped
/// (the queue is full, or it was posted late) is read from the database like any other.
/// </summary>
internal sealed class LocalChanges
{
    /// <summary>Enough for the batches that commit while the feeder applies one; beyond it the feeder reads.</summary>
    internal const int MaxPending = 64;

    private readonly Lock _lock = new();
    private List<Commit> _pending = [];

    /// <summary>
    /// Posts a committed run: the changes numbered <paramref name="first"/> to <paramref name="last"/> and
    /// nothing else, their signals' state as of that commit (<paramref name="known"/>), and the ids of signals the
    /// run also touched whose state another transaction may have set meanwhile (<paramref name="reread"/>): the
    /// feeder reads those from the database. Call only after the commit.
    /// </summary>
    public void Post(long first, long last, IReadOnlyList<SignalState> known, IReadOnlyList<long> reread)
    {
        lock (_lock)
        {
            if (_pending.Count < MaxPending)
            {
                _pending.Add(new Commit(first, last, known, reread));
            }
        }
    }

    /// <summary>Takes every run posted so far, lowest first.</summary>
    public List<Commit> TakeAll()
    {
        List<Commit> taken;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return [];
            }
            taken = _pending;
            _pending = [];
        }
        // Runs commit in log order but are posted by their own threads, so they may arrive out of order.
        taken.Sort((a, b) => a.First.CompareTo(b.First));
        return taken;
    }

    /// <summary>A signal's state as a committed transaction left it.</summary>
    internal readonly record struct SignalState(long Id, string Type, string Value, bool Active);

    /// <summary>One committed run of the change log (First to Last, nothing missing) and its signals.</summary>
    internal sealed record Commit(long First, long Last, IReadOnlyList<SignalState> Known, IReadOnlyList<long> Reread);
}
