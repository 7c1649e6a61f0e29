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

    [Test]
    public async Task WriteAsync_AfterAppend_SeesTheRunAndOnlyTheAbandonHookRunsWhenTheWriteFailsLater()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var changeLog = scope.ServiceProvider.GetRequiredService<ChangeLog>();
        var appended = new List<(long First, long Last)?>();
        var committed = 0;
        var abandoned = new List<(long First, long Last)?>();
        var before = await db.Changes.MaxAsync(c => (long?)c.Seq) ?? 0;

        Assert.ThrowsAsync<InvalidOperationException>(() => changeLog.WriteAsync(db, async (batch, ct) =>
        {
            foreach (var s in await AddSignalsAsync(db, 2, ct))
            {
                batch.Record(s, ChangeKind.Created);
            }
            batch.AfterAppend(run =>
            {
                appended.Add(run);
                db.AfterCommit(() => committed++);
                db.AfterAbandon(() => abandoned.Add(run));
                throw new InvalidOperationException("failed after the append");
            });
            return 0;
        }, CancellationToken.None));

        Assert.Multiple(async () =>
        {
            Assert.That(appended, Has.Count.EqualTo(1));
            Assert.That(appended[0]?.Last - appended[0]?.First, Is.EqualTo(1), "two changes drawn as one run");
            Assert.That(abandoned, Is.EqualTo(appended));
            Assert.That(committed, Is.Zero);
            Assert.That(await db.Changes.MaxAsync(c => (long?)c.Seq) ?? 0, Is.EqualTo(before), "rolled back");
        });
    }

    [Test]
    public async Task WriteAsync_Committed_RunsTheCommitHookQueuedAfterTheAppendAndNotTheAbandonHook()
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var changeLog = scope.ServiceProvider.GetRequiredService<ChangeLog>();
        var committed = new List<(long First, long Last)?>();
        var abandoned = 0;

        var id = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var signal = (await AddSignalsAsync(db, 1, ct))[0];
            batch.Record(signal, ChangeKind.Created);
            batch.AfterAppend(run =>
            {
                db.AfterCommit(() => committed.Add(run));
                db.AfterAbandon(() => abandoned++);
            });
            return signal.Id;
        }, CancellationToken.None);
        // The next transaction would run a leftover abandon hook when it starts.
        await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            batch.Record((await AddSignalsAsync(db, 1, ct))[0], ChangeKind.Created);
            return 0;
        }, CancellationToken.None);

        var seq = await db.Changes.Where(c => c.SignalId == id).Select(c => c.Seq).SingleAsync();
        Assert.Multiple(() =>
        {
            Assert.That(committed, Is.EqualTo(new (long, long)?[] { (seq, seq) }));
            Assert.That(abandoned, Is.Zero);
        });
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
