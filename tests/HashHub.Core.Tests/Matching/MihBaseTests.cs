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
        Assert.That(compacted.Ids.ToArray().Order(), Is.EqualTo(live.Order()), "the compacted base holds exactly the live entries");
        Assert.That(sawRemovedInBase, Is.True, "removals left tombstones for the builds to drop");
        Assert.That(checkedLevels, Is.EqualTo(60));
        Assert.That(mih.RecycledBuilds, Is.GreaterThan(5), "middle levels were built over retired ones' arrays, and checked above");
    }

    [Test]
    public void Recycling_WaitsForTheQueriesThatMayStillReadARetiredLevel_ThenReusesItsArrays()
    {
        var rng = new Random(93);
        var pool = SyntheticHashes.RandomSet(3000, rng);
        var mih = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 100, MinMidCapacity = 800 });
        var next = 0;
        void AddUntilBuilt()
        {
            // The delta's 100 entries, then one more to start the build of the middle level from them.
            for (var k = 0; k < 101; k++, next++)
            {
                mih.Add(next, pool[next]);
            }
        }
        for (var round = 0; round < 4; round++)
        {
            AddUntilBuilt();
            mih.CompactionTask?.Wait();
        }

        // A query in flight that has read the current middle level.
        var slot = mih.EnterRead();
        var (_, held) = mih.Levels;
        var heldHashes = held.Hashes.ToArray();
        var heldIds = held.Ids.ToArray();
        AddUntilBuilt();
        var build = mih.CompactionTask;
        Assert.That(build, Is.Not.Null);
        Assert.That(build!.Wait(300), Is.False, "the build waits for the query before it keeps the retired level");
        Assert.That(mih.Levels.Mid, Is.Not.SameAs(held), "the new middle level is published meanwhile");
        Assert.That(held.Hashes.ToArray(), Is.EqualTo(heldHashes));
        Assert.That(held.Ids.ToArray(), Is.EqualTo(heldIds));

        mih.ExitRead(slot);
        build.Wait();
        Assert.That(mih.SpareCapacities.Mid, Is.EqualTo(held.Capacity), "once the query is done, the retired level is the spare");
        AddUntilBuilt();
        mih.CompactionTask?.Wait();
        var (_, rebuilt) = mih.Levels;
        Assert.That(rebuilt.Store, Is.SameAs(held.Store), "the next build writes over the retired level's arrays");
        AssertExactTables(rebuilt, pool, "built over a retired level");
        var results = new List<PdqMatch>();
        for (var id = 0; id < next; id += 37)
        {
            results.Clear();
            mih.Query(pool[id], 0, results);
            Assert.That(results.Select(m => m.Id), Does.Contain(id), $"id {id}");
        }
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
            Assert.That(off[MihLayout.Buckets], Is.EqualTo(level.Count), $"{when}, chunk {c}");
            Assert.That(positions, Has.Length.AtLeast(level.Count), $"{when}, chunk {c}");
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
