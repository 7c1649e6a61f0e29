using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

public sealed class HammingScanTests
{
    // The SIMD scan is the oracle for everything else, so it is itself checked against the plainest loop.
    [TestCase(0)]
    [TestCase(31)]
    [TestCase(63)]
    [TestCase(128)]
    [TestCase(256)]
    public void Scan_RandomAndNearHashes_EqualsScalarLoop(int radius)
    {
        var rng = new Random(11);
        var query = SyntheticHashes.Random(rng);
        // 1,003 entries: not a multiple of four, so the scalar tail runs too.
        var hashes = new Hash256[1003];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = i % 3 == 0 ? SyntheticHashes.Flip(query, rng.Next(257), rng) : SyntheticHashes.Random(rng);
        }
        var ids = Enumerable.Range(100, hashes.Length).ToArray();
        var tombstones = Tombstones.Create(hashes.Length);
        Tombstones.Set(tombstones, 0);
        Tombstones.Set(tombstones, 1002);

        var actual = new List<PdqMatch>();
        HammingScan.Scan(hashes, ids, tombstones, query, radius, actual);

        var expected = Enumerable.Range(1, hashes.Length - 2)
            .Select(i => new PdqMatch(ids[i], hashes[i].DistanceTo(query)))
            .Where(m => m.Distance <= radius)
            .ToList();
        Assert.That(actual, Is.EqualTo(expected));
    }
}
