namespace HashHub.Server.Matching;

/// <summary>
/// Change-log runs this node committed, handed to <see cref="MatchIndexFeeder"/> with their signals, so that the
/// feeder applies them without reading them back from the database (DESIGN.md, Matching: the index follows the
/// change log). The feeder still reads everything else: other nodes' changes, writes that post nothing here, and
/// any run it takes from here that it has already read. Posting is an optimisation only: a run that is dropped
/// (the queue is full, or it was posted late) is read from the database like any other.
/// <para>
/// A write that will post its run reserves it as soon as its numbers are drawn, before it commits
/// (<see cref="Reserve"/>), so that the feeder, woken by the commit, waits for the post instead of reading the
/// run back when the writer's thread is slow to post it (on busy cores that took more than the feeder's former
/// 2 ms wait for a fifth of the runs).
/// </para>
/// </summary>
internal sealed class LocalChanges
{
    /// <summary>Enough for the batches that commit while the feeder applies one; beyond it the feeder reads.</summary>
    internal const int MaxPending = 64;

    /// <summary>
    /// A reservation older than this is dropped when next looked at: its writer ended without posting or releasing
    /// it (a path that fails both), so nobody would settle it.
    /// </summary>
    internal static readonly TimeSpan StaleReservation = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private List<Commit> _pending = [];
    private readonly List<Reservation> _reserved = [];

    public LocalChanges()
        : this(TimeProvider.System)
    {
    }

    internal LocalChanges(TimeProvider time) => _time = time;

    /// <summary>Runs dropped because the queue was full (read back by the feeder), since start.</summary>
    internal long Dropped { get; private set; }

    /// <summary>
    /// Announces that the current transaction appended the changes <paramref name="first"/> to
    /// <paramref name="last"/> and will post them (<see cref="Post"/>) once it commits, or release them
    /// (<see cref="Release"/>) if it does not. Call under the change log's lock, before the commit.
    /// </summary>
    public void Reserve(long first, long last)
    {
        lock (_lock)
        {
            _reserved.Add(new Reservation(first, last, _time.GetTimestamp()));
        }
    }

    /// <summary>Settles the reservation of the run starting at <paramref name="first"/> without posting it.</summary>
    public void Release(long first) => Settle(first);

    /// <summary>
    /// Posts a committed run: the changes numbered <paramref name="first"/> to <paramref name="last"/> and
    /// nothing else, their signals' state as of that commit (<paramref name="known"/>), and the ids of signals the
    /// run also touched whose state another transaction may have set meanwhile (<paramref name="reread"/>): the
    /// feeder reads those from the database. Call only after the commit. Settles the run's reservation.
    /// </summary>
    public void Post(long first, long last, IReadOnlyList<SignalState> known, IReadOnlyList<long> reread)
    {
        lock (_lock)
        {
            if (_pending.Count < MaxPending)
            {
                _pending.Add(new Commit(first, last, known, reread));
            }
            else
            {
                Dropped++;
            }
        }
        Settle(first);
    }

    /// <summary>
    /// The reservation covering change <paramref name="seq"/>, if a write of this node reserved one and has not
    /// settled it yet: its <see cref="Reservation.Settled"/> task completes when the run is posted or released.
    /// </summary>
    public Reservation? ReservationCovering(long seq)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _reserved.RemoveAll(r => _time.GetElapsedTime(r.At, now) > StaleReservation && r.Complete());
            return _reserved.Find(r => r.First <= seq && seq <= r.Last);
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

    private void Settle(long first)
    {
        Reservation? settled;
        lock (_lock)
        {
            var i = _reserved.FindIndex(r => r.First == first);
            if (i < 0)
            {
                return;
            }
            settled = _reserved[i];
            _reserved.RemoveAt(i);
        }
        settled.Complete();
    }

    /// <summary>A signal's state as a committed transaction left it.</summary>
    internal readonly record struct SignalState(long Id, string Type, string Value, bool Active);

    /// <summary>One committed run of the change log (First to Last, nothing missing) and its signals.</summary>
    internal sealed record Commit(long First, long Last, IReadOnlyList<SignalState> Known, IReadOnlyList<long> Reread);

    /// <summary>A run a write of this node appended and will post or release.</summary>
    internal sealed class Reservation(long first, long last, long at)
    {
        private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long First { get; } = first;

        public long Last { get; } = last;

        internal long At { get; } = at;

        /// <summary>Completes when the run is posted or released (or dropped as stale).</summary>
        public Task Settled => _settled.Task;

        /// <summary>Completes <see cref="Settled"/>; true, for use in a removal predicate.</summary>
        internal bool Complete()
        {
            _settled.TrySetResult();
            return true;
        }
    }
}
