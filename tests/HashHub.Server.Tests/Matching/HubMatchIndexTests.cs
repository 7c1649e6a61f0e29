using HashHub.Core.Matching;
using HashHub.Core.Signals;
using HashHub.Server.Matching;

namespace HashHub.Server.Tests.Matching;

public sealed class HubMatchIndexTests
{
    private const string Pdq = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22";

    [Test]
    public void Apply_SameStateTwice_IndexesOnce()
    {
        var index = new HubMatchIndex();

        index.Apply(7, "pdq", Pdq, active: true);
        index.Apply(7, "pdq", Pdq, active: true);

        var hits = new List<SignalMatch>();
        index.Query(SignalTypes.Pdq, Pdq, 31, hits);
        Assert.Multiple(() =>
        {
            Assert.That(index.Count, Is.EqualTo(1));
            Assert.That(hits, Is.EqualTo(new[] { new SignalMatch(7, 0) }));
        });
    }

    [Test]
    public void Apply_RetractedThenActiveAgain_FollowsTheState()
    {
        var index = new HubMatchIndex();
        var hits = new List<SignalMatch>();

        index.Apply(9, "md5", "d41d8cd98f00b204e9800998ecf8427e", active: true);
        index.Apply(9, "md5", "d41d8cd98f00b204e9800998ecf8427e", active: false);
        index.Apply(9, "md5", "d41d8cd98f00b204e9800998ecf8427e", active: false);
        index.Query(SignalTypes.Md5, "d41d8cd98f00b204e9800998ecf8427e", 0, hits);
        var afterRetraction = hits.Count;
        index.Apply(9, "md5", "d41d8cd98f00b204e9800998ecf8427e", active: true);
        hits.Clear();
        index.Query(SignalTypes.Md5, "d41d8cd98f00b204e9800998ecf8427e", 0, hits);

        Assert.Multiple(() =>
        {
            Assert.That(afterRetraction, Is.Zero);
            Assert.That(hits, Has.Count.EqualTo(1));
            Assert.That(index.Count, Is.EqualTo(1));
        });
    }

    [Test]
    public void Apply_IdBeyondHandleRange_Throws()
    {
        var index = new HubMatchIndex();

        Assert.Throws<InvalidOperationException>(() => index.Apply((long)int.MaxValue + 1, "md5", "d41d8cd98f00b204e9800998ecf8427e", active: true));
    }

    [Test]
    public async Task WaitForAsync_CompletesWhenAdvancedAndTimesOutOtherwise()
    {
        var index = new HubMatchIndex();

        var waiting = index.WaitForAsync(5, TimeSpan.FromMinutes(1), CancellationToken.None);
        index.Advance(3);
        var stillWaiting = waiting.IsCompleted;
        index.Advance(5);
        var reached = await waiting;
        var timedOut = await index.WaitForAsync(6, TimeSpan.FromMilliseconds(20), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(stillWaiting, Is.False);
            Assert.That(reached, Is.True);
            Assert.That(timedOut, Is.False);
        });
    }
}
