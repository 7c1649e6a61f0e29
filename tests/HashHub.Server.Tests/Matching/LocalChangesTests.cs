using HashHub.Server.Matching;
using Microsoft.Extensions.Time.Testing;

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

    [Test]
    public void Reserve_CoversItsRunUntilPosted()
    {
        var local = new LocalChanges();
        local.Reserve(11, 20);

        var reserved = local.ReservationCovering(15);
        Assert.Multiple(() =>
        {
            Assert.That(reserved, Is.Not.Null);
            Assert.That(local.ReservationCovering(10), Is.Null);
            Assert.That(local.ReservationCovering(21), Is.Null);
            Assert.That(reserved!.Settled.IsCompleted, Is.False);
        });

        local.Post(11, 20, [], []);

        Assert.Multiple(() =>
        {
            Assert.That(reserved.Settled.IsCompleted, Is.True);
            Assert.That(local.ReservationCovering(11), Is.Null);
            Assert.That(local.TakeAll().Select(c => c.First), Is.EqualTo(new long[] { 11 }));
        });
    }

    [Test]
    public void Release_SettlesTheReservationWithoutPostingAndLeavesOthers()
    {
        var local = new LocalChanges();
        local.Reserve(1, 10);
        local.Reserve(11, 20);
        var released = local.ReservationCovering(5)!;

        local.Release(1);

        Assert.Multiple(() =>
        {
            Assert.That(released.Settled.IsCompleted, Is.True);
            Assert.That(local.ReservationCovering(5), Is.Null);
            Assert.That(local.ReservationCovering(11), Is.Not.Null);
            Assert.That(local.TakeAll(), Is.Empty);
        });
    }

    [Test]
    public void Post_QueueFull_StillSettlesTheReservation()
    {
        var local = new LocalChanges();
        for (var i = 0; i < LocalChanges.MaxPending; i++)
        {
            local.Post(i + 1, i + 1, [], []);
        }
        local.Reserve(100, 100);
        var reserved = local.ReservationCovering(100)!;

        local.Post(100, 100, [], []);

        // Dropped, so the feeder reads it; it must not wait for a post that came and went.
        Assert.That(reserved.Settled.IsCompleted, Is.True);
    }

    [Test]
    public void ReservationCovering_NeverSettled_IsDroppedWhenStale()
    {
        var time = new FakeTimeProvider();
        var local = new LocalChanges(time);
        local.Reserve(1, 10);
        var reserved = local.ReservationCovering(1)!;

        time.Advance(LocalChanges.StaleReservation - TimeSpan.FromSeconds(1));
        Assert.That(local.ReservationCovering(1), Is.SameAs(reserved));
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Multiple(() =>
        {
            Assert.That(local.ReservationCovering(1), Is.Null);
            Assert.That(reserved.Settled.IsCompleted, Is.True);
        });
    }
}
