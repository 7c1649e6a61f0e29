using System.Runtime.CompilerServices;

namespace HashHub.Core.Matching;

/// <summary>Bit sets marking removed entries; written by the single writer only, read by any thread.</summary>
internal static class Tombstones
{
    public static ulong[] Create(int capacity) => new ulong[(capacity + 63) >> 6];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(ReadOnlySpan<ulong> bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(ulong[] bits, int i) => (Volatile.Read(ref bits[i >> 6]) & (1UL << (i & 63))) != 0;

    /// <summary>Sets bit <paramref name="i"/>. Only the writer (under its lock) calls this, so a plain read-modify-write is safe.</summary>
    public static void Set(ulong[] bits, int i) => Volatile.Write(ref bits[i >> 6], bits[i >> 6] | (1UL << (i & 63)));
}
