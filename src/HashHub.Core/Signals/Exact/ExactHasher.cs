using System.Buffers;
using System.Security.Cryptography;

namespace HashHub.Core.Signals.Exact;

/// <summary>The exact-match digests of a file's bytes, as lower-case hex (the canonical form of the md5 and sha256 signal types).</summary>
/// <param name="Md5">MD5, 32 hex digits.</param>
/// <param name="Sha256">SHA-256, 64 hex digits.</param>
public sealed record ExactHashes(string Md5, string Sha256);

/// <summary>
/// Computes MD5 and SHA-256 of content in one streamed pass through a small pooled buffer, so a multi-gigabyte video
/// costs the same memory as a thumbnail.
/// </summary>
/// <example>
/// <code>
/// var hashes = await ExactHasher.ComputeFileAsync("upload.mp4", cancellationToken);
/// Console.WriteLine(hashes.Sha256);
/// </code>
/// </example>
public static class ExactHasher
{
    // Large enough to amortise the per-call cost of both hash functions, small enough to stay out of the large object heap.
    private const int BufferSize = 64 * 1024;

    /// <summary>Hashes <paramref name="stream"/> from its current position to its end.</summary>
    public static ExactHashes Compute(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = stream.Read(buffer, 0, BufferSize)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                sha256.AppendData(buffer, 0, read);
            }
            return Finish(md5, sha256);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hashes <paramref name="stream"/> from its current position to its end, reading asynchronously.</summary>
    public static async Task<ExactHashes> ComputeAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                sha256.AppendData(buffer, 0, read);
            }
            return Finish(md5, sha256);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hashes the bytes of the file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">When the file does not exist.</exception>
    public static ExactHashes ComputeFile(string path)
    {
        using var stream = OpenSequential(path, useAsync: false);
        return Compute(stream);
    }

    /// <summary>Hashes the bytes of the file at <paramref name="path"/>, reading asynchronously.</summary>
    /// <exception cref="FileNotFoundException">When the file does not exist.</exception>
    public static async Task<ExactHashes> ComputeFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var stream = OpenSequential(path, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            return await ComputeAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    private static FileStream OpenSequential(string path, bool useAsync)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // bufferSize 0: our own pooled buffer is the only one; FileStream's would be a second copy.
        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.Read,
            BufferSize = 0,
            Options = FileOptions.SequentialScan | (useAsync ? FileOptions.Asynchronous : FileOptions.None),
        });
    }

    private static ExactHashes Finish(IncrementalHash md5, IncrementalHash sha256)
    {
        Span<byte> md5Bytes = stackalloc byte[16];
        Span<byte> shaBytes = stackalloc byte[32];
        md5.GetHashAndReset(md5Bytes);
        sha256.GetHashAndReset(shaBytes);
        return new ExactHashes(Convert.ToHexStringLower(md5Bytes), Convert.ToHexStringLower(shaBytes));
    }
}
