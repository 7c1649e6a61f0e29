namespace HashHub.Core.Signals.Pdq;

/// <summary>A PDQ hash and its quality (0-100; the PDQ document advises not to share hashes under 50).</summary>
/// <param name="Hash">The 256-bit hash.</param>
/// <param name="Quality">The image-domain gradient quality metric, 0-100.</param>
public readonly record struct PdqResult(PdqHash Hash, int Quality);

/// <summary>
/// The eight dihedral PDQ hashes of one image, derived from its DCT without re-hashing rotated pixels
/// (PDQ hashing document, "Dihedral-transform hashes"). The names follow the reference: <see cref="Rotate90"/> is a
/// counter-clockwise quarter turn, <see cref="FlipX"/> mirrors top-bottom, <see cref="FlipY"/> left-right,
/// <see cref="FlipPlus1"/> transposes and <see cref="FlipMinus1"/> mirrors across the other diagonal.
/// </summary>
public sealed record PdqDihedralHashes(
    PdqHash Original,
    PdqHash Rotate90,
    PdqHash Rotate180,
    PdqHash Rotate270,
    PdqHash FlipX,
    PdqHash FlipY,
    PdqHash FlipPlus1,
    PdqHash FlipMinus1,
    int Quality)
{
    /// <summary>The eight hashes in the reference's order: orig, rot90, rot180, rot270, flipx, flipy, flipp, flipm.</summary>
    public IReadOnlyList<PdqHash> All => [Original, Rotate90, Rotate180, Rotate270, FlipX, FlipY, FlipPlus1, FlipMinus1];
}

/// <summary>Which image the hash is computed from.</summary>
public enum PdqResolution
{
    /// <summary>
    /// The full-resolution image, as the reference hashing functions, the Java port and the <c>pdqhash</c> Python
    /// package (python-threatexchange, HMA) compute it. The default.
    /// </summary>
    Full = 0,

    /// <summary>
    /// What the reference C++ tool <c>pdq-photo-hasher</c> prints: an image wider or taller than 512 px is first squashed
    /// to exactly 512x512 by nearest-neighbour sampling (source index = floor(dst * srcDim / 512)).
    /// </summary>
    ReferenceCli512 = 1,
}
