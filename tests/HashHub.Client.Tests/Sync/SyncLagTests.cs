using HashHub.Client.Sync;

namespace HashHub.Client.Tests.Sync;

/// <summary>How <see cref="SyncLag.TimeBehind"/> reads the hub's figures.</summary>
public sealed class SyncLagTests
{
    private static readonly DateTimeOffset Head = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void TimeBehind_ChangesAfterTheCursor_IsTheHeadsTimeMinusTheCursors()
    {
        var lag = new SyncLag(5, Head, Head.AddMinutes(-3), Head);

        Assert.That(lag.UpToDate, Is.False);
        Assert.That(lag.TimeBehind, Is.EqualTo(TimeSpan.FromMinutes(3)));
    }

    [Test]
    public void TimeBehind_UpToDate_IsZero()
    {
        Assert.That(new SyncLag(0, Head, Head, Head).TimeBehind, Is.EqualTo(TimeSpan.Zero));
        Assert.That(new SyncLag(0, null, null, Head).TimeBehind, Is.EqualTo(TimeSpan.Zero), "an empty log");
    }

    [Test]
    public void TimeBehind_NeverSynced_IsUnknown()
    {
        Assert.That(new SyncLag(7, Head, null, Head).TimeBehind, Is.Null);
    }

    [Test]
    public void TimeBehind_HubClockSteppedBack_IsNeverNegative()
    {
        Assert.That(new SyncLag(1, Head, Head.AddSeconds(2), Head).TimeBehind, Is.EqualTo(TimeSpan.Zero));
    }
}
