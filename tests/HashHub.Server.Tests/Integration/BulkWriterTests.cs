using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// PostgreSQL's bulk insert of new signals: a plain insert first, and when a stored signal makes it fail, the
/// rollback to its savepoint and the upsert, in the same transaction, with nothing inserted twice or lost.
/// </summary>
public sealed class BulkWriterTests
{
    private HubFactory _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await HubFactory.CreateAsync(StorageProvider.Postgres);

    [OneTimeTearDown]
    public void StopHub() => _hub.Dispose();

    [Test]
    public async Task InsertMissingSignals_StoredSignalInBatch_FallsBackAndThenGoesTheSafeWayForAWhile()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var policy = new OptimisticInserts();
        var writer = new PostgresBulkWriter(db, policy);
        var (a, b, c) = (Signal(), Signal(), Signal());

        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await writer.InsertMissingSignalsAsync([a, b], CancellationToken.None);
            await transaction.CommitAsync();
        }
        Assert.That(new[] { a.Id, b.Id }, Is.All.GreaterThan(0));
        Assert.That(policy.Conflicts, Is.Zero);

        // b is stored: the plain insert fails on it, and the upsert inserts c alone, in the same transaction.
        var again = new SignalEntity { Type = b.Type, Value = b.Value, Status = SignalStatus.Active, CreatedAt = b.CreatedAt, UpdatedAt = b.UpdatedAt };
        await using (var transaction = await db.Database.BeginTransactionAsync())
        {
            await writer.InsertMissingSignalsAsync([again, c], CancellationToken.None);
            // The transaction is usable after the failed statement (rolled back to the savepoint).
            Assert.That(await db.Signals.CountAsync(s => s.Value == c.Value), Is.EqualTo(1));
            await transaction.CommitAsync();
        }
        Assert.That(policy.Conflicts, Is.EqualTo(1));
        Assert.That(again.Id, Is.Zero, "stored already");
        Assert.That(c.Id, Is.GreaterThan(Math.Max(a.Id, b.Id)));
        // Each value stored once, under the ids the writer reported (a and b went in sorted by value, so their ids
        // follow their values, not their order in the list).
        var values = new[] { a.Value, b.Value, c.Value };
        Assert.That(await db.Signals.Where(s => values.Contains(s.Value)).Select(s => s.Id).ToListAsync(), Is.EquivalentTo(new[] { a.Id, b.Id, c.Id }));

        // After a conflict the next batches skip the plain insert (no second conflict on another stored signal),
        // then the plain insert is tried again.
        for (var i = 0; i < OptimisticInserts.SafeBatchesAfterConflict; i++)
        {
            var stored = new SignalEntity { Type = a.Type, Value = a.Value, Status = SignalStatus.Active, CreatedAt = a.CreatedAt, UpdatedAt = a.UpdatedAt };
            await using var transaction = await db.Database.BeginTransactionAsync();
            await writer.InsertMissingSignalsAsync([stored, Signal()], CancellationToken.None);
            await transaction.CommitAsync();
        }
        Assert.That(policy.Conflicts, Is.EqualTo(1));
        Assert.That(policy.ShouldTry(), Is.True);
    }

    [Test]
    public async Task InsertMissingSignals_RowsThatDifferInASharedColumn_AreRefusedBeforeAnythingIsSent()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var writer = new PostgresBulkWriter(db, new OptimisticInserts());
        var later = Signal();
        later.UpdatedAt = later.UpdatedAt.AddSeconds(1);
        var first = Signal();

        await using var transaction = await db.Database.BeginTransactionAsync();
        Assert.ThrowsAsync<InvalidOperationException>(() => writer.InsertMissingSignalsAsync([first, later], CancellationToken.None));
        Assert.That(await db.Signals.CountAsync(s => s.Value == first.Value || s.Value == later.Value), Is.Zero);
    }

    // The candidates of one call are one submission's: they share their status and times.
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private static SignalEntity Signal() =>
        new() { Type = "md5", Value = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Status = SignalStatus.Active, CreatedAt = Now, UpdatedAt = Now };
}
