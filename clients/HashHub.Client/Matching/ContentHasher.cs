using HashHub.Core.Matching;
using HashHub.Core.Signals.Exact;
using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Client.Matching;

/// <summary>Hashes content on the member's machine: PDQ (with its eight dihedral variants) and MD5 / SHA-256 of the bytes.</summary>
internal static class ContentHasher
{
    public static async Task<LocalHashes> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var exact = await ExactHasher.ComputeFileAsync(path, cancellationToken).ConfigureAwait(false);
        PdqDihedralHashes? pdq;
        try
        {
            pdq = PdqHasher.HashFileDihedral(path);
        }
        catch (ImageDecodeException)
        {
            // Not an image (a video, an archive): it still matches and shares by its exact hashes.
            pdq = null;
        }
        return new LocalHashes(exact, pdq);
    }

    public static async Task<LocalHashes> HashStreamAsync(Stream content, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        // Two passes (bytes, then pixels) need a seekable stream; buffer one that is not.
        var stream = content;
        MemoryStream? copy = null;
        if (!content.CanSeek)
        {
            copy = new MemoryStream();
            await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            copy.Position = 0;
            stream = copy;
        }
        try
        {
            var start = stream.Position;
            var exact = await ExactHasher.ComputeAsync(stream, cancellationToken).ConfigureAwait(false);
            stream.Position = start;
            PdqDihedralHashes? pdq;
            try
            {
                pdq = PdqHasher.HashImageDihedral(stream, sourceName: name);
            }
            catch (ImageDecodeException)
            {
                pdq = null;
            }
            return new LocalHashes(exact, pdq);
        }
        finally
        {
            if (copy is not null)
            {
                await copy.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>The hashes of one piece of content; <see cref="Pdq"/> is null when it is not a decodable image.</summary>
internal sealed record LocalHashes(ExactHashes Exact, PdqDihedralHashes? Pdq)
{
    /// <summary>The PDQ of the image as it is (the one shared on contribution).</summary>
    public string? PdqHex => Pdq?.Original.ToHex();

    /// <summary>The eight dihedral hashes as index keys (queried together, so a rotated or mirrored copy matches too).</summary>
    public Hash256[] PdqVariants => Pdq is null ? [] : [.. Pdq.All.Select(h => Hash256.Parse(h.ToHex()))];

    public ContentHashes ToPublic() => new(PdqHex, Pdq?.Quality ?? 0, Exact.Md5, Exact.Sha256);
}
