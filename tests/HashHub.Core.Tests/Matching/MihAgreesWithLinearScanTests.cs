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

    [TestCase(false, true, 65_536)]
    [TestCase(true, true, 65_536)]
    [TestCase(false, false, 65_536)]
    [TestCase(true, false, 65_536)]
    [TestCase(false, true, 500)]
    [TestCase(true, false, 500)]
    public void Query_InterleavedAddsAndRemoves_EqualsLinearScan(bool clustered, bool background, int minMidCapacity)
    {
        var rng = new Random(clustered ? 77 : 78);
        Hash256[] centres = [];
        var pool = clustered ? SyntheticHashes.ClusteredSet(4000, 5, rng, out centres) : SyntheticHashes.RandomSet(4000, rng);
        // A delta of 300 entries forces a compaction every few rounds; removal of base entries adds tombstones.
        // With a middle level of 500 some of those compactions build the middle level and some the whole base.
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions
        {
            DeltaCapacity = 300, DisableLinearFallback = true, BackgroundCompaction = background, MinMidCapacity = minMidCapacity,
        });
        var linear = new PdqLinearIndex();
        mih.AddRange(Enumerable.Range(0, 1000).ToArray(), pool.AsSpan(0, 1000));
        for (var i = 0; i < 1000; i++)
        {
            linear.Add(i, pool[i]);
        }
        var live = Enumerable.Range(0, 1000).ToList();
        var next = 1000;
        var sawMid = false;
        var baseSizes = new HashSet<int>();

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
            sawMid |= mih.MidCount > 0;
            baseSizes.Add(mih.BaseCount);

            var queries = Enumerable.Range(0, 4)
                .Select(_ => clustered
                    ? SyntheticHashes.Flip(centres[rng.Next(centres.Length)], rng.Next(40), rng)
                    : SyntheticHashes.Flip(pool[live[rng.Next(live.Count)]], rng.Next(64), rng))
                .ToArray();
            AssertSameAnswers(mih, linear, queries, $"round {round}");
        }
        Assert.That(sawMid, Is.True, "adds went through the middle level");
        Assert.That(baseSizes, minMidCapacity < 4000 ? Has.Count.GreaterThan(1) : Has.Count.EqualTo(1), "the base was rebuilt only when the middle level outgrew its share");
    }

    /// <summary>
    /// A full delta goes into the middle level, and the base is rebuilt only when the middle level would outgrow
    /// max(its minimum, base / 8): most adds are built a few times, not once per full delta into the whole base.
    /// </summary>
    [Test]
    public void Add_FullDeltas_GoToTheMiddleLevelUntilItOutgrowsItsShare()
    {
        var rng = new Random(1234);
        var pool = SyntheticHashes.RandomSet(1600, rng);
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 100, MinMidCapacity = 300, BackgroundCompaction = false, DisableLinearFallback = true });
        mih.AddRange(Enumerable.Range(0, 1000).ToArray(), pool.AsSpan(0, 1000));
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount), Is.EqualTo((1000, 0, 0)));

        var next = 1000;
        void AddUpTo(int last)
        {
            for (; next <= last; next++)
            {
                mih.Add(next, pool[next]);
            }
        }
        // The 101st add finds the delta full: the 100 go to the middle level, the add to a fresh delta.
        AddUpTo(1100);
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount), Is.EqualTo((1000, 100, 1)));
        AddUpTo(1300);
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount), Is.EqualTo((1000, 300, 1)));
        // 300 + 100 would exceed max(300, 1000 / 8): everything goes into a new base.
        AddUpTo(1400);
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount), Is.EqualTo((1400, 0, 1)));

        // Removing from the middle level or the base hides the entry, and a compaction leaves both out.
        AddUpTo(1500);
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount), Is.EqualTo((1400, 100, 1)));
        Assert.That(mih.Remove(1450, pool[1450]), Is.True, "from the middle level");
        Assert.That(mih.Remove(1000, pool[1000]), Is.True, "from the base");
        foreach (var (id, present) in new[] { (1450, false), (1000, false), (1451, true), (1001, true), (1500, true) })
        {
            Assert.That(mih.Query(pool[id], 0).Select(m => m.Id).Contains(id), Is.EqualTo(present), $"entry {id}");
        }
        mih.Compact();
        Assert.That((mih.BaseCount, mih.MidCount, mih.DeltaCount, mih.Count), Is.EqualTo((1499, 0, 0, 1499)));
        Assert.That(mih.Query(pool[1450], 0).Select(m => m.Id), Does.Not.Contain(1450));
    }

    /// <summary>Both kinds of background build: of the middle level (base kept), and of the whole base.</summary>
    [TestCase(65_536)]
    [TestCase(50)]
    public void Remove_DuringBackgroundCompaction_IsReplayedOnWhatItBuilt(int minMidCapacity)
    {
        var rng = new Random(99);
        var pool = SyntheticHashes.RandomSet(3000, rng);
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 100, DisableLinearFallback = true, MinMidCapacity = minMidCapacity, MidDivisor = 100 });
        var linear = new PdqLinearIndex();
        mih.AddRange(Enumerable.Range(0, 2000).ToArray(), pool.AsSpan(0, 2000));
        for (var i = 0; i < 2000; i++)
        {
            linear.Add(i, pool[i]);
        }

        // 101 adds: the last one finds the delta full and starts a background build: of the middle level from the
        // frozen delta (a middle level of 65,536), or of a new base from the base and the frozen delta (one of 50,
        // which 100 entries outgrow).
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

        Assert.That((mih.BaseCount, mih.MidCount), minMidCapacity > 100 ? Is.EqualTo((2000, 100)) : Is.EqualTo((2100, 0)));
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
