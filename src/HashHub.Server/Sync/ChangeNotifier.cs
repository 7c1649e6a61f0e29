namespace HashHub.Server.Sync;

/// <summary>
/// Wakes live subscribers of this node when a write committed here. Subscribers also poll on a short period,
/// so changes committed by other hub nodes sharing the database are seen too.
/// </summary>
public sealed class ChangeNotifier
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task that completes at the next <see cref="Notify"/>.</summary>
    public Task NextAsync() => Volatile.Read(ref _next).Task;

    /// <summary>Called after a commit that appended changes.</summary>
    public void Notify()
    {
        var previous = Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }
}
