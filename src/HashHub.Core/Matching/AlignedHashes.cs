using System.Runtime.InteropServices;

namespace HashHub.Core.Matching;

/// <summary>
/// An array of hashes whose first element sits on a 32-byte boundary, so that no 32-byte hash straddles two
/// 64-byte cache lines: a query reads thousands of hashes at random, and a straddling hash costs two misses.
/// </summary>
/// <remarks>
/// A managed Hash256[] starts 16 bytes after an 8-byte aligned object header, so most of its elements would
/// straddle. The words live on the pinned object heap (they never move, so the alignment computed once holds)
/// and the first element starts at the first 32-byte aligned word.
/// </remarks>
internal sealed class AlignedHashes
{
    private readonly ulong[] _words;
    private readonly int _start;

    public AlignedHashes(int capacity)
    {
        Capacity = capacity;
        // Up to three words of padding; uninitialised because the builder writes every element it uses.
        _words = HugePages.AllocatePinned<ulong>((capacity * 4) + 3);
        var address = Marshal.UnsafeAddrOfPinnedArrayElement(_words, 0);
        _start = (int)((32 - (address & 31)) & 31) / sizeof(ulong);
    }

    /// <summary>How many hashes fit (a recycled level may use fewer).</summary>
    public int Capacity { get; }

    public long Bytes => _words.LongLength * sizeof(ulong);

    public Span<Hash256> Span => MemoryMarshal.Cast<ulong, Hash256>(_words.AsSpan(_start, Capacity * 4));
}
