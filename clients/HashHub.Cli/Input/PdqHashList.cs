using System.Buffers;
using System.Runtime.InteropServices;
using HashHub.Cli.Infrastructure;
using HashHub.Core.Matching;

namespace HashHub.Cli.Input;

/// <summary>
/// A text file of PDQ hashes, one per line, as the reference tools read and write them: 64 hex digits, optionally
/// followed by more comma- or whitespace-separated columns (<c>hash,quality,filename</c>). Blank lines are skipped
/// but still counted, so <see cref="LineNumbers"/> are the 1-based lines an editor shows.
/// </summary>
internal sealed class PdqHashList
{
    private static readonly SearchValues<char> Separators = SearchValues.Create(", \t");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private readonly List<int> _lineNumbers = [];
    private readonly List<Hash256> _hashes = [];

    private PdqHashList(string path) => Path = path;

    /// <summary>The file as named on the command line.</summary>
    public string Path { get; }

    /// <summary>The 1-based line of each hash, in file order.</summary>
    public IReadOnlyList<int> LineNumbers => _lineNumbers;

    /// <summary>The hashes, in file order.</summary>
    public IReadOnlyList<Hash256> Hashes => _hashes;

    public int Count => _hashes.Count;

    /// <summary>Reads the whole file; a malformed line stops the read with an error naming the file and line.</summary>
    /// <exception cref="InputException">When the file cannot be read or a line is not a PDQ hash.</exception>
    public static PdqHashList Read(string path, CancellationToken cancellationToken)
    {
        var list = new PdqHashList(path);
        try
        {
            var lineNumber = 0;
            foreach (var line in File.ReadLines(path))
            {
                cancellationToken.ThrowIfCancellationRequested();
                lineNumber++;
                var text = line.AsSpan().Trim();
                if (text.IsEmpty)
                {
                    continue;
                }
                var end = text.IndexOfAny(Separators);
                var token = end < 0 ? text : text[..end];
                if (!Hash256.TryParse(token, out var hash))
                {
                    throw new InputException($"{path}:{lineNumber}: {Explain(token)}");
                }
                list._lineNumbers.Add(lineNumber);
                list._hashes.Add(hash);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InputException.CannotRead(path, e);
        }
        return list;
    }

    /// <summary>Builds the match index over this list, with each hash's line number as its id.</summary>
    public PdqMultiIndex BuildIndex() =>
        PdqMultiIndex.Build(
            CollectionsMarshal.AsSpan(_lineNumbers),
            CollectionsMarshal.AsSpan(_hashes));

    private static string Explain(ReadOnlySpan<char> token)
    {
        const int shown = 80;
        var quoted = token.Length > shown ? $"'{token[..shown]}...'" : $"'{token}'";
        if (token.Length != Hash256.HexLength)
        {
            return $"not a PDQ hash: {quoted} is {token.Length} characters long, expected {Hash256.HexLength} hex digits";
        }
        var bad = token.IndexOfAnyExcept(HexDigits);
        return $"not a PDQ hash: {quoted} has '{token[bad]}' at position {bad + 1}, expected {Hash256.HexLength} hex digits";
    }
}
