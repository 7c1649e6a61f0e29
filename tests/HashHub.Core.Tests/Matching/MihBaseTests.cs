using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

/// <summary>
/// The bucket tables of built levels (base and middle level), checked entry by entry across adds, removes and
/// compactions: the query tests would miss an entry misfiled in a bucket that no query happens to probe.
/// </summary>
public sealed class MihBaseTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void Build_AcrossAddsRemovesAndCompactions_EveryLevelHoldsExactlyTheLiveEntriesInTheirBuckets(bool background)
    {
        var rng = new Random(background ? 91 : 92);
        var pool = SyntheticHashes.RandomSet(6000, rng);
        // Small delta and middle level: many middle-level builds and several base rebuilds, each from levels that
        // hold tombstones.
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions
        {
            DeltaCapacity = 200, MinMidCapacity = 700, BackgroundCompaction = background,
        });
        mih.AddRange(Enumerable.Range(0, 1500).ToArray(), pool.AsSpan(0, 1500));
        var live = Enumerable.Range(0, 1500).ToHashSet();
        var next = 1500;
        var checkedLevels = 0;
        var sawRemovedInBase = false;
        for (var round = 0; round < 30; round++)
        {
            for (var k = 0; k < 150; k++, next++)
            {
                mih.Add(next, pool[next]);
                live.Add(next);
            }
            foreach (var id in live.OrderBy(_ => rng.Next()).Take(40).ToList())
            {
                Assert.That(mih.Remove(id, pool[id]), Is.True);
                live.Remove(id);
            }
            mih.CompactionTask?.Wait();
            var (@base, mid) = mih.Levels;
            sawRemovedInBase |= @base.Removed > 0;
            foreach (var level in new[] { @base, mid })
            {
                AssertExactTables(level, pool, $"round {round}");
                checkedLevels++;
            }
        }
        mih.Compact();
        var (compacted, _) = mih.Levels;
        AssertExactTables(compacted, pool, "after Compact");
        Assert.That(compacted.Ids.Order(), Is.EqualTo(live.Order()), "the compacted base holds exactly the live entries");
        Assert.That(sawRemovedInBase, Is.True, "removals left tombstones for the builds to drop");
        Assert.That(checkedLevels, Is.EqualTo(60));
    }

    private static void AssertExactTables(MihBase level, Hash256[] pool, string when)
    {
        var hashes = level.Hashes.ToArray();
        Assert.That(level.Ids.Length, Is.EqualTo(level.Count), when);
        for (var i = 0; i < level.Count; i++)
        {
            if (hashes[i] != pool[level.Ids[i]])
            {
                Assert.Fail($"{when}: entry {i} holds id {level.Ids[i]} with another hash");
            }
        }
        var off0 = level.Offsets[0];
        Assert.That(off0[MihLayout.Buckets], Is.EqualTo(level.Count), when);
        for (var v = 0; v < MihLayout.Buckets; v++)
        {
            for (var i = off0[v]; i < off0[v + 1]; i++)
            {
                if (MihLayout.Chunk(hashes[i], 0) != v)
                {
                    Assert.Fail($"{when}: entry {i} is stored in chunk-0 bucket {v} but belongs in {MihLayout.Chunk(hashes[i], 0)}");
                }
            }
        }
        for (var c = 1; c < MihLayout.Chunks; c++)
        {
            var off = level.Offsets[c];
            var positions = level.Positions[c];
            Assert.That((off[MihLayout.Buckets], positions.Length), Is.EqualTo((level.Count, level.Count)), $"{when}, chunk {c}");
            var seen = new bool[level.Count];
            for (var v = 0; v < MihLayout.Buckets; v++)
            {
                for (var k = off[v]; k < off[v + 1]; k++)
                {
                    var p = positions[k];
                    if (p < 0 || p >= level.Count || seen[p] || MihLayout.Chunk(hashes[p], c) != v)
                    {
                        Assert.Fail($"{when}: chunk {c}, bucket {v} lists position {p}, which is out of range, listed twice or not in that bucket");
                    }
                    seen[p] = true;
                }
            }
        }
    }
}
