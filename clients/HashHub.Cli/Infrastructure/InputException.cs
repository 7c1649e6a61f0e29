namespace HashHub.Cli.Infrastructure;

/// <summary>
/// An input file is missing, unreadable or malformed. The message names the file (and the line, where there is one)
/// and the reason; the tool prints it to stderr and exits with <see cref="ExitCodes.InputError"/>.
/// </summary>
internal sealed class InputException : Exception
{
    public InputException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }

    /// <summary>The reason a file could not be opened, in words, for an exception thrown while opening or reading it.</summary>
    public static string Describe(string path, Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException when Directory.Exists(path) => "is a directory, not a file",
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException when Directory.Exists(path) => "is a directory, not a file",
        UnauthorizedAccessException => "permission denied",
        _ => exception.Message,
    };

    /// <summary>Wraps an I/O failure on <paramref name="path"/> into an input error naming the file.</summary>
    public static InputException CannotRead(string path, Exception exception) =>
        new($"cannot read '{path}': {Describe(path, exception)}", exception);
}
