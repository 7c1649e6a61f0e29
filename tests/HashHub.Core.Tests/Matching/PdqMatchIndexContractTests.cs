using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

/// <summary>The behaviour every <see cref="IPdqMatchIndex"/> promises, run on each implementation.</summary>
[TestFixture("linear")]
[TestFixture("mih")]
[TestFixture("mih-small-delta")]
[TestFixture("mih-no-fallback")]
[TestFixture("mih-small-levels")]
public sealed class PdqMatchIndexContractTests(string implementation)
{
    private static readonly Hash256 A = Hash256.Parse("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");

    [Test]
    public void Query_Empty_ReturnsNothing() => Assert.That(NewIndex().Query(A, 31), Is.Empty);

    [Test]
    public void Query_ExactHash_ReturnsIdAtDistanceZero()
    {
        var index = NewIndex();
        index.Add(42, A);

        Assert.That(index.Query(A, 0), Is.EqualTo(new[] { new PdqMatch(42, 0) }));
    }

    [Test]
    public void Query_HashAtRadius_IsIncludedAndOneFurtherIsNot()
    {
        var rng = new Random(1);
        var index = NewIndex();
        index.Add(1, SyntheticHashes.Flip(A, 31, rng));
        index.Add(2, SyntheticHashes.Flip(A, 32, rng));

        Assert.That(index.Query(A, 31), Is.EqualTo(new[] { new PdqMatch(1, 31) }));
    }

    [Test]
    public void Remove_Present_HidesItAndReturnsTrue()
    {
        var index = NewIndex();
        index.Add(1, A);
        index.Add(2, A);

        Assert.That(index.Remove(1, A), Is.True);
        Assert.That(index.Query(A, 0), Is.EqualTo(new[] { new PdqMatch(2, 0) }));
        Assert.That(index.Count, Is.EqualTo(1));
    }

    [Test]
    public void Remove_WrongHashOrAlreadyRemoved_ReturnsFalse()
    {
        var index = NewIndex();
        index.Add(1, A);

        Assert.That(index.Remove(1, SyntheticHashes.Flip(A, 1, new Random(2))), Is.False);
        Assert.That(index.Remove(1, A), Is.True);
        Assert.That(index.Remove(1, A), Is.False);
    }

    [Test]
    public void QueryAny_DihedralVariants_ReturnsEachIdOnceWithSmallestDistance()
    {
        var rng = new Random(3);
        var variants = Enumerable.Range(0, 8).Select(_ => SyntheticHashes.Random(rng)).ToArray();
        var index = NewIndex();
        index.Add(7, SyntheticHashes.Flip(variants[5], 3, rng));
        index.Add(8, variants[0]);

        var results = index.QueryAny(variants, 31).OrderBy(m => m.Id).ToList();

        Assert.That(results, Is.EqualTo(new[] { new PdqMatch(7, 3), new PdqMatch(8, 0) }));
    }

    [Test]
    public void Query_WhileAnotherThreadWrites_SeesEveryStableEntryOnce()
    {
        var rng = new Random(4);
        var index = NewIndex();
        var stable = Enumerable.Range(0, 200).Select(i => SyntheticHashes.Flip(A, i % 20, rng)).ToArray();
        for (var i = 0; i < stable.Length; i++)
        {
            index.Add(i, stable[i]);
        }
        var churn = SyntheticHashes.RandomSet(2000, rng);

        using var done = new ManualResetEventSlim();
        var writer = Task.Run(() =>
        {
            // Adds and removes of far-away hashes, enough to force several compactions of the MIH delta.
            for (var i = 0; i < churn.Length; i++)
            {
                index.Add(10_000 + i, churn[i]);
                if (i % 3 == 0)
                {
                    index.Remove(10_000 + i, churn[i]);
                }
            }
            done.Set();
        });
        var rounds = 0;
        while (!done.IsSet || rounds < 10)
        {
            var ids = index.Query(A, 19).Select(m => m.Id).Where(id => id < 10_000).OrderBy(id => id).ToList();
            Assert.That(ids, Is.EqualTo(Enumerable.Range(0, 200)));
            rounds++;
        }
        writer.GetAwaiter().GetResult();
    }

    private IPdqMatchIndex NewIndex() => implementation switch
    {
        "linear" => new PdqLinearIndex(),
        "mih" => new PdqMultiIndex(),
        // A delta of 256 entries makes the writer compact every 256 adds, so the tests cross compactions.
        "mih-small-delta" => new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 256 }),
        "mih-no-fallback" => new PdqMultiIndex(new PdqMultiIndexOptions { DisableLinearFallback = true }),
        // Small delta and middle level, probes only: the tests cross builds of the middle level and of the base,
        // and concurrent queries run on the probe path of every level.
        "mih-small-levels" => new PdqMultiIndex(new PdqMultiIndexOptions { DeltaCapacity = 64, MinMidCapacity = 256, DisableLinearFallback = true }),
        _ => throw new ArgumentOutOfRangeException(nameof(implementation)),
    };
}
