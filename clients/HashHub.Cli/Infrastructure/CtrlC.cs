namespace HashHub.Cli.Infrastructure;

/// <summary>
/// Turns the first Ctrl+C (SIGINT) into a cancellation token, so a command stops between files or rows, the results
/// already printed are flushed and the tool exits with <see cref="ExitCodes.Cancelled"/>. A second Ctrl+C ends the
/// process at once, as usual.
/// </summary>
internal sealed class CtrlC : IDisposable
{
    private readonly CancellationTokenSource _source = new();

    public CtrlC() => Console.CancelKeyPress += OnCancelKeyPress;

    public CancellationToken Token => _source.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        _source.Dispose();
    }

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_source.IsCancellationRequested)
        {
            return;
        }
        e.Cancel = true;
        _source.Cancel();
    }
}
