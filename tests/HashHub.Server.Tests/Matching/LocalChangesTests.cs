using HashHub.Server.Matching;

namespace HashHub.Server.Tests.Matching;

public sealed class LocalChangesTests
{
    [Test]
    public void TakeAll_PostedOutOfOrder_ReturnsLowestFirstAndEmpties()
    {
        var local = new LocalChanges();
        local.Post(11, 20, [], []);
        local.Post(1, 10, [], []);

        var taken = local.TakeAll();

        Assert.Multiple(() =>
        {
            Assert.That(taken.Select(c => c.First), Is.EqualTo(new long[] { 1, 11 }));
            Assert.That(local.TakeAll(), Is.Empty);
        });
    }

    [Test]
    public void Post_QueueFull_DropsTheRun()
    {
        var local = new LocalChanges();
        for (var i = 0; i <= LocalChanges.MaxPending; i++)
        {
            local.Post(i + 1, i + 1, [], []);
        }

        // A dropped run is not lost: the feeder reads it from the log.
        Assert.That(local.TakeAll(), Has.Count.EqualTo(LocalChanges.MaxPending));
    }
}
