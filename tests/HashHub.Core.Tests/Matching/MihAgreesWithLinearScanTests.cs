using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

/// <summary>
/// Property tests: on seeded random and clustered data, the multi-index answer equals the linear scan's answer
/// (same ids, same distances), also across incremental adds, removes and compactions.
/// </summary>
public sealed class MihAgreesWithLinearScanTests
{
    private static readonly int[] Radii = [0, 1, 15, 16, 31, 32, 47, 63];

    public static IEnumerable<TestCaseData> Options()
    {
        yield return new TestCaseData("default", new PdqMultiIndexOptions());
        // Without the fallback every radius, 63 included, runs the probe path.
        yield return new TestCaseData("probe-only", new PdqMultiIndexOptions { DisableLinearFallback = true });
    }

    [TestCaseSource(nameof(Options))]
    public void Query_RandomData_EqualsLinearScan(string name, PdqMultiIndexOptions options)
    {
        var rng = new Random(20261128);
        var hashes = SyntheticHashes.RandomSet(3000, rng);
        // Queries near stored hashes as well as random ones, so every radius has hits.
        var queries = Enumerable.Range(0, 40)
            .Select(i => i % 2 == 0 ? SyntheticHashes.Flip(hashes[rng.Next(hashes.Length)], rng.Next(70), rng) : SyntheticHashes.Random(rng))
            .ToArray();

        AssertSameAnswers(Build(hashes, options), Build(hashes, null), queries, name);
    }

    [TestCaseSource(nameof(Options))]
    public void Query_ClusteredData_EqualsLinearScan(string name, PdqMultiIndexOptions options)
    {
        var rng = new Random(4242);
        var hashes = SyntheticHashes.ClusteredSet(3000, 6, rng, out var centres);
        var queries = Enumerable.Range(0, 40)
            .Select(i => SyntheticHashes.Flip(centres[i % centres.Length], rng.Next(50), rng))
            .ToArray();

        var (mih, linear) = (Build(hashes, options), Build(hashes, null));

        AssertSameAnswers(mih, linear, queries, name);
        Assert.That(mih.Query(centres[0], 40), Has.Count.EqualTo(3000 / 6), "every member of a cluster is within 40 of its centre");
    }

    [TestCase(false, true)]
    [TestCase(true, true)]
    [TestCase(false, false)]
    [TestCase(true, false)]
    public void Query_InterleavedAddsAndRemoves_EqualsLinearScan(bool clustered, bool background)
    {
        var rng = new Random(clustered ? 77 : 78);
        Hash256[] centres = [];
        var pool = clustered ? SyntheticHashes.ClusteredSet(4000, 5, rng, out centres) : SyntheticHashes.RandomSet(4000, rng);
        // A delta of 300 entries forces a compaction every few rounds; removal of base entries adds tombstones.
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 300, DisableLinearFallback = true, BackgroundCompaction = background });
        var linear = new PdqLinearIndex();
        mih.AddRange(Enumerable.Range(0, 1000).ToArray(), pool.AsSpan(0, 1000));
        for (var i = 0; i < 1000; i++)
        {
            linear.Add(i, pool[i]);
        }
        var live = Enumerable.Range(0, 1000).ToList();
        var next = 1000;

        for (var round = 0; round < 20; round++)
        {
            for (var k = 0; k < 120 && next < pool.Length; k++, next++)
            {
                mih.Add(next, pool[next]);
                linear.Add(next, pool[next]);
                live.Add(next);
            }
            for (var k = 0; k < 60; k++)
            {
                var at = rng.Next(live.Count);
                var id = live[at];
                live.RemoveAt(at);
                Assert.That(mih.Remove(id, pool[id]), Is.True);
                Assert.That(linear.Remove(id, pool[id]), Is.True);
            }
            Assert.That(mih.Count, Is.EqualTo(live.Count));

            var queries = Enumerable.Range(0, 4)
                .Select(_ => clustered
                    ? SyntheticHashes.Flip(centres[rng.Next(centres.Length)], rng.Next(40), rng)
                    : SyntheticHashes.Flip(pool[live[rng.Next(live.Count)]], rng.Next(64), rng))
                .ToArray();
            AssertSameAnswers(mih, linear, queries, $"round {round}");
        }
    }

    [Test]
    public void Remove_DuringBackgroundCompaction_IsReplayedOnTheNewBase()
    {
        var rng = new Random(99);
        var pool = SyntheticHashes.RandomSet(3000, rng);
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 100, DisableLinearFallback = true });
        var linear = new PdqLinearIndex();
        mih.AddRange(Enumerable.Range(0, 2000).ToArray(), pool.AsSpan(0, 2000));
        for (var i = 0; i < 2000; i++)
        {
            linear.Add(i, pool[i]);
        }

        // 101 adds: the last one finds the delta full and starts a background build of base + frozen delta.
        for (var i = 2000; i <= 2100; i++)
        {
            mih.Add(i, pool[i]);
            linear.Add(i, pool[i]);
        }
        // Remove from the base, the frozen delta and the new delta while the build (probably) runs.
        foreach (var id in new[] { 5, 700, 1999, 2003, 2099, 2100 })
        {
            Assert.That(mih.Remove(id, pool[id]), Is.True);
            Assert.That(linear.Remove(id, pool[id]), Is.True);
        }
        mih.CompactionTask?.Wait();

        Assert.That(mih.Count, Is.EqualTo(linear.Count));
        var queries = Enumerable.Range(0, 30).Select(i => SyntheticHashes.Flip(pool[i * 70], rng.Next(40), rng)).ToArray();
        AssertSameAnswers(mih, linear, queries, "after compaction");
        foreach (var id in new[] { 5, 700, 1999, 2003, 2099, 2100 })
        {
            Assert.That(mih.Query(pool[id], 0).Select(m => m.Id), Does.Not.Contain(id));
        }
    }

    [Test]
    public void Query_RadiusBeyondProbePlan_FallsBackAndStillMatchesLinearScan()
    {
        var rng = new Random(5);
        var hashes = SyntheticHashes.RandomSet(500, rng);
        var mih = Build(hashes, new PdqMultiIndexOptions());
        var linear = Build(hashes, null);

        foreach (var radius in new[] { 64, 100, 128, 256, 1000 })
        {
            var q = SyntheticHashes.Random(rng);
            Assert.That(Sorted(mih.Query(q, radius)), Is.EqualTo(Sorted(linear.Query(q, radius))), $"radius {radius}");
        }
    }

    private static IPdqMatchIndex Build(Hash256[] hashes, PdqMultiIndexOptions? options)
    {
        if (options is null)
        {
            var linear = new PdqLinearIndex();
            for (var i = 0; i < hashes.Length; i++)
            {
                linear.Add(i, hashes[i]);
            }
            return linear;
        }
        return PdqMultiIndex.Build(Enumerable.Range(0, hashes.Length).ToArray(), hashes, options);
    }

    private static void AssertSameAnswers(IPdqMatchIndex mih, IPdqMatchIndex linear, Hash256[] queries, string context)
    {
        var nonEmpty = 0;
        foreach (var q in queries)
        {
            foreach (var radius in Radii)
            {
                var expected = Sorted(linear.Query(q, radius));
                Assert.That(Sorted(mih.Query(q, radius)), Is.EqualTo(expected), $"{context}, radius {radius}, query {q}");
                nonEmpty += expected.Count > 0 ? 1 : 0;
            }
        }
        // Guards against a vacuous pass where nothing was ever found.
        Assert.That(nonEmpty, Is.GreaterThan(queries.Length));
    }

    private static List<PdqMatch> Sorted(List<PdqMatch> matches) => [.. matches.OrderBy(m => m.Id).ThenBy(m => m.Distance)];
}
