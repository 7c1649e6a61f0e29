using HashHub.Server.Storage;
using HashHub.Server.Sync;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// <see cref="HubDbContext.AfterCommit"/> runs only for a transaction that committed, and the bulk writers report
/// the run of change-log numbers a transaction appended (what the local match-index feed relies on).
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class CommitHooksTests(StorageProvider provider)
{
    private HubFactory _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await HubFactory.CreateAsync(provider);

    [OneTimeTearDown]
    public void StopHub() => _hub.Dispose();

    [Test]
    public async Task WriteAsync_Committed_RunsHookOnceWithTheAppendedRun()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var changeLog = scope.ServiceProvider.GetRequiredService<ChangeLog>();
        var runs = new List<(long First, long Last)?>();

        var ids = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var signals = await AddSignalsAsync(db, 3, ct);
            foreach (var s in signals)
            {
                batch.Record(s, ChangeKind.Created);
            }
            db.AfterCommit(() => runs.Add(db.AppendedChanges));
            return signals.Select(s => s.Id).ToList();
        }, CancellationToken.None);

        var appended = await db.Changes.AsNoTracking().Where(c => ids.Contains(c.SignalId)).OrderBy(c => c.Seq).Select(c => c.Seq).ToListAsync();
        Assert.That(runs, Is.EqualTo(new (long, long)?[] { (appended[0], appended[^1]) }));
        Assert.That(appended, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task WriteAsync_Failed_NeverRunsTheHookAndTheNextTransactionStartsClean()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var changeLog = scope.ServiceProvider.GetRequiredService<ChangeLog>();
        var ran = 0;

        Assert.ThrowsAsync<InvalidOperationException>(() => changeLog.WriteAsync<int>(db, async (batch, ct) =>
        {
            batch.Record((await AddSignalsAsync(db, 1, ct))[0], ChangeKind.Created);
            db.AfterCommit(() => ran++);
            throw new InvalidOperationException("refused");
        }, CancellationToken.None));
        await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            batch.Record((await AddSignalsAsync(db, 1, ct))[0], ChangeKind.Created);
            return 0;
        }, CancellationToken.None);

        Assert.That(ran, Is.Zero);
    }

    private static async Task<List<SignalEntity>> AddSignalsAsync(HubDbContext db, int count, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var signals = Enumerable.Range(0, count).Select(_ => new SignalEntity
        {
            Type = "md5", Value = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), Status = SignalStatus.Active, CreatedAt = now, UpdatedAt = now,
        }).ToList();
        await BulkWriter.For(db).InsertMissingSignalsAsync(signals, ct);
        return signals;
    }
}
