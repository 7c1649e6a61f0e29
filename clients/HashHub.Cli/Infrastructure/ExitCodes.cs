namespace HashHub.Cli.Infrastructure;

/// <summary>The process exit codes of every command, as listed in each command's --help.</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done.</summary>
    public const int Success = 0;

    /// <summary>
    /// The command line was wrong: unknown option, missing argument, value out of range. The same code as every
    /// other error (as grep does), so that 1 only ever means "matched": a mistyped <c>hashhub match</c> in a
    /// script must not read as a match.
    /// </summary>
    public const int Usage = 2;

    /// <summary>
    /// An input file could not be read or holds malformed data (the message names the file and line), or the hub
    /// refused or could not be reached, or no profile was found.
    /// </summary>
    public const int InputError = 2;

    /// <summary><c>hashhub match</c> only: at least one file matched the list.</summary>
    public const int Matched = 1;

    /// <summary>Interrupted (Ctrl+C), as shells report a SIGINT: 128 + 2.</summary>
    public const int Cancelled = 130;
}
