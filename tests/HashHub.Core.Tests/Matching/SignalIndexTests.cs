using HashHub.Core.Matching;
using HashHub.Core.Signals;

namespace HashHub.Core.Tests.Matching;

public sealed class SignalIndexTests
{
    private static string PhotoDna(byte[] bytes) => Convert.ToHexStringLower(bytes);

    [Test]
    public void Create_EachRegisteredType_PicksTheRightIndex()
    {
        Assert.That(SignalIndex.Create(SignalTypes.Pdq), Is.InstanceOf<PdqSignalIndex>());
        Assert.That(SignalIndex.Create(SignalTypes.Md5), Is.InstanceOf<ExactSignalIndex>());
        Assert.That(SignalIndex.Create(SignalTypes.Sha256), Is.InstanceOf<ExactSignalIndex>());
        Assert.That(SignalIndex.Create(SignalTypes.PhotoDna), Is.InstanceOf<LinearSignalIndex>());
    }

    [Test]
    public void ExactQuery_SameValue_ReturnsAllIdsAtDistanceZero()
    {
        var index = SignalIndex.Create(SignalTypes.Md5);
        var value = new string('a', 32);
        index.Add(1, value);
        index.Add(2, value);
        index.Add(3, new string('b', 32));

        var results = new List<SignalMatch>();
        index.Query(value, 0, results);

        Assert.That(results, Is.EquivalentTo(new[] { new SignalMatch(1, 0), new SignalMatch(2, 0) }));
        Assert.That(index.Count, Is.EqualTo(3));
    }

    [Test]
    public void ExactQuery_OtherValue_ReturnsNothing()
    {
        var index = SignalIndex.Create(SignalTypes.Sha256);
        index.Add(1, new string('a', 64));

        var results = new List<SignalMatch>();
        index.Query(new string('a', 63) + "b", 10, results);

        Assert.That(results, Is.Empty);
    }

    [Test]
    public void ExactRemove_OneOfTwoIds_LeavesTheOther()
    {
        var index = SignalIndex.Create(SignalTypes.Md5);
        var value = new string('c', 32);
        index.Add(1, value);
        index.Add(2, value);

        Assert.That(index.Remove(1, value), Is.True);
        Assert.That(index.Remove(1, value), Is.False);
        var results = new List<SignalMatch>();
        index.Query(value, 0, results);

        Assert.That(results, Is.EqualTo(new[] { new SignalMatch(2, 0) }));
        Assert.That(index.Remove(2, value), Is.True);
        Assert.That(index.Count, Is.Zero);
    }

    [Test]
    public void PhotoDnaQuery_NearAndFar_ReturnsOnlyWithinThreshold()
    {
        var index = SignalIndex.Create(SignalTypes.PhotoDna);
        var rng = new Random(9);
        var centre = new byte[PhotoDnaSignalType.HashBytes];
        rng.NextBytes(centre);
        var near = (byte[])centre.Clone();
        near[10] = (byte)(near[10] ^ 0x0F); // at most 15 away
        var far = new byte[PhotoDnaSignalType.HashBytes];
        rng.NextBytes(far);
        index.Add(1, PhotoDna(near));
        index.Add(2, PhotoDna(far));
        index.Add(3, PhotoDna(centre));

        var results = new List<SignalMatch>();
        index.Query(PhotoDna(centre), SignalTypes.PhotoDna.DefaultMatchThreshold, results);

        Assert.That(results.Select(m => m.Id), Is.EquivalentTo(new[] { 1, 3 }));
        Assert.That(results.Single(m => m.Id == 3).Distance, Is.Zero);
    }

    [Test]
    public void PhotoDnaRemove_ThenQuery_IsGone()
    {
        var index = SignalIndex.Create(SignalTypes.PhotoDna);
        var value = PhotoDna(new byte[PhotoDnaSignalType.HashBytes]);
        for (var i = 0; i < 40; i++)
        {
            index.Add(i, value);
        }

        Assert.That(index.Remove(7, value), Is.True);
        var results = new List<SignalMatch>();
        index.Query(value, 0, results);

        Assert.That(results.Select(m => m.Id), Is.EquivalentTo(Enumerable.Range(0, 40).Where(i => i != 7)));
    }

    [Test]
    public void PdqQuery_ThroughGenericPath_ReturnsDistance()
    {
        var index = SignalIndex.Create(SignalTypes.Pdq);
        var a = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        var b = "08f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        index.Add(5, b);

        var results = new List<SignalMatch>();
        index.Query(a, 31, results);

        Assert.That(results, Is.EqualTo(new[] { new SignalMatch(5, 4) }));
    }
}
