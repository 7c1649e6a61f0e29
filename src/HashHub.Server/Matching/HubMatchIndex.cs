using HashHub.Core.Matching;
using HashHub.Core.Signals;

namespace HashHub.Server.Matching;

/// <summary>
/// This hub node's in-memory match index over every active signal (DESIGN.md, Matching): one Core index per
/// signal type, fed incrementally from the change log by <see cref="MatchIndexFeeder"/>; never rebuilt per
/// change. Sharing scopes are applied when a match is turned into an answer, not here: the index holds every
/// active signal and <see cref="MatchService"/> shows a caller only what it may see.
/// </summary>
/// <remarks>
/// Queries run concurrently with the one feeder that writes (the Core indexes' concurrency model). The index
/// handle of a signal is its row id, so an id above <see cref="int.MaxValue"/> cannot be indexed.
/// </remarks>
public sealed class HubMatchIndex
{
    private readonly Dictionary<string, ISignalIndex> _indexes;
    private readonly Lock _positionLock = new();
    private ulong[] _present = new ulong[1024];
    private long _position;
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _ready;
    private int _count;

    public HubMatchIndex()
    {
        _indexes = SignalTypes.All.ToDictionary(t => t.Name, SignalIndex.Create, StringComparer.Ordinal);
    }

    /// <summary>True once the feeder has read the whole log that was committed when the node started.</summary>
    public bool IsReady => _ready;

    /// <summary>The sequence number of the last change applied.</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary>Active signals held.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Brings one signal in line with its current state: indexed when active, not indexed otherwise. Idempotent,
    /// so the feeder can apply a signal's state once per change that names it. Only the feeder calls it.
    /// </summary>
    public void Apply(long signalId, string type, string value, bool active)
    {
        if (!_indexes.TryGetValue(type, out var index))
        {
            return; // A type this build does not know: nothing to match it against.
        }
        if (signalId > int.MaxValue)
        {
            throw new InvalidOperationException($"Signal id {signalId} is above the match index's handle range ({int.MaxValue}).");
        }
        var id = (int)signalId;
        var present = IsPresent(id);
        if (active && !present)
        {
            index.Add(id, value);
            SetPresent(id, true);
            Interlocked.Increment(ref _count);
        }
        else if (!active && present)
        {
            index.Remove(id, value);
            SetPresent(id, false);
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Records that every change up to <paramref name="seq"/> is applied, and wakes waiters.</summary>
    public void Advance(long seq)
    {
        TaskCompletionSource previous;
        lock (_positionLock)
        {
            if (seq <= _position)
            {
                return;
            }
            Interlocked.Exchange(ref _position, seq);
            previous = _advanced;
            _advanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    /// <summary>Marks the index as loaded: it answers queries from now on.</summary>
    public void MarkReady() => _ready = true;

    /// <summary>
    /// Waits until the index has applied every change up to <paramref name="seq"/>, or the timeout passes (the
    /// caller then answers from what the index holds). Gives a member read-your-writes: a contribution it was
    /// acknowledged is matchable by its next Match call.
    /// </summary>
    public async Task<bool> WaitForAsync(long seq, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (Position < seq)
        {
            Task next;
            lock (_positionLock)
            {
                if (_position >= seq)
                {
                    break;
                }
                next = _advanced.Task;
            }
            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Appends the signals within <paramref name="threshold"/> of a canonical value of <paramref name="type"/>.</summary>
    public void Query(SignalType type, string value, int threshold, List<SignalMatch> results)
    {
        if (_indexes.TryGetValue(type.Name, out var index))
        {
            index.Query(value, threshold, results);
        }
    }

    private bool IsPresent(int id)
    {
        var word = id >> 6;
        return word < _present.Length && (_present[word] & (1UL << (id & 63))) != 0;
    }

    private void SetPresent(int id, bool present)
    {
        var word = id >> 6;
        if (word >= _present.Length)
        {
            Array.Resize(ref _present, Math.Max(word + 1, _present.Length * 2));
        }
        if (present)
        {
            _present[word] |= 1UL << (id & 63);
        }
        else
        {
            _present[word] &= ~(1UL << (id & 63));
        }
    }
}
