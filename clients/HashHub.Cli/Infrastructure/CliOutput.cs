using System.Text;
using Grpc.Core;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Infrastructure;

/// <summary>
/// Where the tool writes: machine-readable results (JSON lines, CSV) go verbatim to <see cref="Out"/>, errors to
/// <see cref="Error"/>, and Spectre's help and usage text through <see cref="OutConsole"/>.
/// </summary>
/// <remarks>
/// Results bypass Spectre's renderer on purpose: it wraps text at the console width (80 columns when output is
/// redirected), which would split a JSON line or a 64-digit hash in two.
/// </remarks>
internal sealed class CliOutput : IAsyncDisposable
{
    /// <summary>Captured output (tests): plain text, no colours, no terminal detection.</summary>
    public CliOutput(TextWriter output, TextWriter error)
        : this(output, error, CreatePlainConsole(output), CreatePlainConsole(error))
    {
    }

    private CliOutput(TextWriter output, TextWriter error, IAnsiConsole outConsole, IAnsiConsole errorConsole)
    {
        Out = output;
        Error = error;
        OutConsole = outConsole;
        ErrorConsole = errorConsole;
    }

    /// <summary>Standard input (<c>login --secret-stdin</c>); tests set a reader.</summary>
    public TextReader In { get; init; } = Console.In;

    /// <summary>Standard output, for results.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error, for error messages.</summary>
    public TextWriter Error { get; }

    /// <summary>Spectre's view of standard output (help, usage).</summary>
    public IAnsiConsole OutConsole { get; }

    /// <summary>Spectre's view of standard error (pretty parse errors).</summary>
    public IAnsiConsole ErrorConsole { get; }

    /// <summary>
    /// The process's own standard output and error. Results go through a buffered UTF-8 writer (Console.Out flushes
    /// on every line, which dominates a lookup printing millions of rows); help goes through Spectre's own console,
    /// which detects the terminal's width and colours. Dispose to flush.
    /// </summary>
    public static CliOutput FromConsole() =>
        new(
            new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 64 * 1024),
            Console.Error,
            AnsiConsole.Console,
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }));

    /// <summary>Writes one error line, "hashhub: message", to standard error.</summary>
    public void WriteError(string message) => Error.WriteLine($"hashhub: {message}");

    /// <summary>
    /// The one place where exceptions become messages and exit codes: input errors exit 2, everything about the
    /// command line exits 1, Ctrl+C exits 130, and anything else is a bug, reported with its stack trace (exit 1).
    /// </summary>
    public int HandleException(Exception exception, ITypeResolver? resolver)
    {
        switch (exception)
        {
            case InputException input:
                WriteError(input.Message);
                return ExitCodes.InputError;
            case CommandAppException { Pretty: { } pretty }:
                ErrorConsole.Write(pretty);
                return ExitCodes.Usage;
            case CommandAppException app:
                WriteError(app.Message);
                return ExitCodes.Usage;
            case RpcException rpc when rpc.StatusCode != StatusCode.Cancelled:
                WriteError($"the hub answered {rpc.StatusCode}: {rpc.Status.Detail}");
                return ExitCodes.InputError;
            case OperationCanceledException or RpcException:
                WriteError("cancelled");
                return ExitCodes.Cancelled;
            default:
                WriteError($"unexpected error: {exception}");
                return ExitCodes.Usage;
        }
    }

    /// <summary>Flushes the results still buffered.</summary>
    public async ValueTask DisposeAsync()
    {
        await Out.FlushAsync().ConfigureAwait(false);
        await Error.FlushAsync().ConfigureAwait(false);
    }

    private static IAnsiConsole CreatePlainConsole(TextWriter writer) =>
        AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
}
