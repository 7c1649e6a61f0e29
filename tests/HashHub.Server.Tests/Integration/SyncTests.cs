using System.Diagnostics;
using Grpc.Core;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class SyncTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private HubClient _a = null!;
    private HubClient _b = null!;

    [SetUp]
    public async Task StartHub()
    {
        // A fresh hub per test, so each test knows the whole log.
        _hub = await HubFactory.CreateAsync(provider);
        _a = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Alpha"));
        _b = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Beta"));
    }

    [TearDown]
    public void StopHub()
    {
        _a.Dispose();
        _b.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task ReadChanges_EmptyLog_ReturnsNoChangesAndStableCursor()
    {
        var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());

        Assert.That(page.Changes, Is.Empty);
        Assert.That(page.HasMore, Is.False);
        var again = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = page.NextCursor });
        Assert.That(again.NextCursor, Is.EqualTo(page.NextCursor));
    }

    [Test]
    public async Task ReadChanges_Paged_ReturnsEveryChangeOnceInOrderWithState()
    {
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Enumerable.Range(0, 25).Select(_ => Item(RandomMd5())).ToArray()));
        var retracted = submitted.Results[3];
        await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = retracted.ContributionId });

        var changes = new List<Proto.Change>();
        var cursor = string.Empty;
        var pages = 0;
        while (true)
        {
            var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 10 });
            pages++;
            Assert.That(page.Changes, Has.Count.LessThanOrEqualTo(10));
            changes.AddRange(page.Changes);
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                break;
            }
        }

        Assert.That(pages, Is.EqualTo(3));
        Assert.That(changes, Has.Count.EqualTo(26));
        Assert.That(changes.Take(25).Select(c => c.Signal.Id), Is.EqualTo(submitted.Results.Select(r => r.SignalId)));
        Assert.That(changes.Take(25).All(c => c.Kind == Proto.ChangeKind.Created), Is.True);
        var tombstone = changes[^1];
        Assert.That(tombstone.Kind, Is.EqualTo(Proto.ChangeKind.Retracted));
        Assert.That(tombstone.Signal.Id, Is.EqualTo(retracted.SignalId));
        Assert.That(tombstone.Signal.Status, Is.EqualTo(Proto.SignalStatus.Retracted));
        // Each change carries the signal's current state: the earlier Created change of the retracted signal too.
        Assert.That(changes[3].Signal.Status, Is.EqualTo(Proto.SignalStatus.Retracted));
        Assert.That(changes.Select(c => c.Cursor).Distinct().Count(), Is.EqualTo(26));
        Assert.That(changes[^1].Cursor, Is.EqualTo(cursor));
    }

    [Test]
    public async Task ReadChanges_SignalChangedTwiceInPage_BothChangesCarryAllContributions()
    {
        var md5 = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:recruitment"), Item(RandomSha256())));
        await _b.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:instruction")));

        var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());

        Assert.That(page.Changes.Select(c => c.Kind), Is.EqualTo(new[] { Proto.ChangeKind.Created, Proto.ChangeKind.Created, Proto.ChangeKind.Updated }));
        foreach (var change in new[] { page.Changes[0], page.Changes[2] })
        {
            Assert.That(change.Signal.Contributions.Select(c => c.Provenance.MemberName), Is.EqualTo(new[] { "Alpha", "Beta" }));
            Assert.That(change.Signal.Labels, Is.EqualTo(new[] { "behavior:instruction", "behavior:recruitment" }));
        }
        Assert.That(page.Changes[1].Signal.Contributions, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ReadChanges_TypeFilter_SkipsOtherTypesAndStillAdvances()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomSha256()), Item(RandomMd5()), Item(RandomSha256())));
        var request = new Proto.ReadChangesRequest { SignalTypes = { Proto.SignalType.Sha256 } };

        var page = await _b.Sync.ReadChangesAsync(request);

        Assert.That(page.Changes.Select(c => c.Signal.Signal.Type), Is.EqualTo(new[] { Proto.SignalType.Sha256, Proto.SignalType.Sha256 }));
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var pdqOnly = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = page.NextCursor, SignalTypes = { Proto.SignalType.Pdq } });
        Assert.That(pdqOnly.Changes, Is.Empty);
        Assert.That(pdqOnly.NextCursor, Is.Not.EqualTo(page.NextCursor), "the cursor moves past skipped changes");
        var all = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = pdqOnly.NextCursor });
        Assert.That(all.Changes, Is.Empty);
    }

    [Test]
    public async Task ReadChanges_EmptyLog_HeadSaysNothingBehindAndNoTimes()
    {
        var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());

        Assert.That(page.Head.ChangesAfterCursor, Is.Zero);
        Assert.That(page.Head.HeadCommittedAt, Is.Null);
        Assert.That(page.Head.CursorCommittedAt, Is.Null);
    }

    [Test]
    public async Task ReadChanges_Paged_HeadCountsTheChangesAfterEachNextCursor()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Enumerable.Range(0, 20).Select(_ => Item(RandomMd5())).ToArray()));
        await _a.Contributions.SubmitContributionsAsync(Batch(Enumerable.Range(0, 5).Select(_ => Item(RandomMd5())).ToArray()));

        var first = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = 10 });
        var second = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = first.NextCursor, PageSize = 10 });
        var last = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = second.NextCursor, PageSize = 10 });

        Assert.Multiple(() =>
        {
            Assert.That(first.Head.ChangesAfterCursor, Is.EqualTo(15));
            Assert.That(second.Head.ChangesAfterCursor, Is.EqualTo(5));
            Assert.That(last.Head.ChangesAfterCursor, Is.Zero);
            Assert.That(last.HasMore, Is.False);
            // The cursor's time is its change's commit time; the head's is the newest change's, on every page.
            Assert.That(first.Head.CursorCommittedAt, Is.EqualTo(first.Changes[^1].CommittedAt));
            Assert.That(first.Head.HeadCommittedAt, Is.EqualTo(last.Changes[^1].CommittedAt));
            Assert.That(second.Head.HeadCommittedAt, Is.EqualTo(last.Changes[^1].CommittedAt));
            Assert.That(last.Head.CursorCommittedAt, Is.EqualTo(last.Head.HeadCommittedAt));
            Assert.That(first.Head.HeadCommittedAt.ToDateTimeOffset(), Is.GreaterThanOrEqualTo(first.Head.CursorCommittedAt.ToDateTimeOffset()));
        });
    }

    [Test]
    public async Task ReadChanges_TypeFilter_HeadCountsEveryTypeAfterTheCursor()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomSha256()), Item(RandomMd5()), Item(RandomMd5())));

        // One sha256 change in a page of one: the page is full at the first change, and the md5 changes after it
        // are counted although this reader filters them out (the count is an upper bound for the caller).
        var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = 1, SignalTypes = { Proto.SignalType.Sha256 } });
        var next = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = page.NextCursor, PageSize = 1, SignalTypes = { Proto.SignalType.Sha256 } });

        Assert.That(page.Changes, Has.Count.EqualTo(1));
        Assert.That(page.Head.ChangesAfterCursor, Is.EqualTo(2));
        Assert.That(next.Changes, Is.Empty);
        Assert.That(next.Head.ChangesAfterCursor, Is.Zero);
    }

    [Test]
    public async Task GetLogHead_CursorBehind_CountsTheChangesAfterItAndTheirTimes()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomMd5())));
        var synced = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomMd5()), Item(RandomSha256())));

        var behind = await _b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest { Cursor = synced.NextCursor });
        var fromStart = await _b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest());
        var rest = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = synced.NextCursor });
        var caughtUp = await _b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest { Cursor = rest.NextCursor });

        Assert.Multiple(() =>
        {
            Assert.That(behind.ChangesAfterCursor, Is.EqualTo(3));
            Assert.That(behind.CursorCommittedAt, Is.EqualTo(synced.Changes[^1].CommittedAt));
            Assert.That(behind.HeadCommittedAt, Is.EqualTo(rest.Changes[^1].CommittedAt));
            Assert.That(fromStart.ChangesAfterCursor, Is.EqualTo(5));
            Assert.That(fromStart.CursorCommittedAt, Is.Null, "the start of the log has no change");
            Assert.That(caughtUp.ChangesAfterCursor, Is.Zero);
            Assert.That(caughtUp.CursorCommittedAt, Is.EqualTo(caughtUp.HeadCommittedAt));
        });
    }

    [Test]
    public async Task GetLogHead_CursorOfAnotherHub_IsFailedPreconditionResyncRequired()
    {
        using var other = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        using var client = await other.ConnectAsAsync(await other.AddMemberAsync("Gamma"));
        await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var foreign = (await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        var ex = Assert.ThrowsAsync<RpcException>(async () => await _b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest { Cursor = foreign }));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(ex.Status.Detail, Does.StartWith("resync required"));
    }

    [Test]
    public void GetLogHead_MalformedCursor_IsInvalidArgumentOnCursor()
    {
        var violations = ContributionsTests.ViolationsOf(_b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest { Cursor = "garbage!" }).ResponseAsync).Result;

        Assert.That(violations.Single().Field, Is.EqualTo("cursor"));
    }

    [TestCase("garbage!")]
    [TestCase("AgAAAAAAAAAAAAAAAAAAAAA")]
    public void ReadChanges_MalformedCursor_IsInvalidArgumentOnCursor(string cursor)
    {
        var violations = ContributionsTests.ViolationsOf(_b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor }).ResponseAsync).Result;

        Assert.That(violations.Single().Field, Is.EqualTo("cursor"));
    }

    [Test]
    public async Task ReadChanges_CursorOfAnotherHub_IsFailedPreconditionResyncRequired()
    {
        using var other = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        using var client = await other.ConnectAsAsync(await other.AddMemberAsync("Gamma"));
        await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var foreign = (await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        var ex = Assert.ThrowsAsync<RpcException>(async () => await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = foreign }));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(ex.Status.Detail, Does.StartWith("resync required"));
    }

    [TestCase(-1)]
    [TestCase(5001)]
    public void ReadChanges_PageSizeOutOfRange_IsInvalidArgument(int pageSize)
    {
        var violations = ContributionsTests.ViolationsOf(_b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = pageSize }).ResponseAsync).Result;

        Assert.That(violations.Single().Field, Is.EqualTo("page_size"));
    }

    [Test]
    public async Task Subscribe_CatchesUpThenDeliversNewChangeWithinASecond()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomMd5())));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _b.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        var stream = call.ResponseStream;

        var caughtUp = new List<Proto.Change>();
        while (await stream.MoveNext(cts.Token) && stream.Current.EventCase == Proto.SubscribeResponse.EventOneofCase.Change)
        {
            caughtUp.Add(stream.Current.Change);
        }
        Assert.That(caughtUp, Has.Count.EqualTo(2));
        Assert.That(stream.Current.EventCase, Is.EqualTo(Proto.SubscribeResponse.EventOneofCase.CaughtUp));

        var md5 = RandomMd5();
        var stopwatch = Stopwatch.StartNew();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5)));
        var acknowledged = stopwatch.Elapsed;
        Assert.That(await stream.MoveNext(cts.Token), Is.True);
        var delivered = stopwatch.Elapsed;

        Assert.That(stream.Current.Change.Signal.Signal.Value, Is.EqualTo(md5.Value));
        // The live path is a wake-up, not the one-second poll: delivery follows the acknowledgement closely.
        Assert.That(delivered - acknowledged, Is.LessThan(TimeSpan.FromSeconds(1)));
        await cts.CancelAsync();
    }

    [Test]
    public async Task Subscribe_FromCursor_ResumesAfterIt()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var cursor = (await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;
        var later = RandomSha256();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(later)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var call = _b.Sync.Subscribe(new Proto.SubscribeRequest { Cursor = cursor }, cancellationToken: cts.Token);

        Assert.That(await call.ResponseStream.MoveNext(cts.Token), Is.True);
        Assert.That(call.ResponseStream.Current.Change.Signal.Signal.Value, Is.EqualTo(later.Value));
        Assert.That(await call.ResponseStream.MoveNext(cts.Token), Is.True);
        Assert.That(call.ResponseStream.Current.EventCase, Is.EqualTo(Proto.SubscribeResponse.EventOneofCase.CaughtUp));
        await cts.CancelAsync();
    }

    [Test]
    public async Task Subscribe_CaughtUp_CarriesTheHeadWithNothingBehind()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomSha256())));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var call = _b.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        var changes = new List<Proto.Change>();
        while (await call.ResponseStream.MoveNext(cts.Token) && call.ResponseStream.Current.EventCase == Proto.SubscribeResponse.EventOneofCase.Change)
        {
            changes.Add(call.ResponseStream.Current.Change);
        }
        var caughtUp = call.ResponseStream.Current.CaughtUp;

        Assert.That(changes, Has.Count.EqualTo(2));
        Assert.That(caughtUp.Head.ChangesAfterCursor, Is.Zero);
        Assert.That(caughtUp.Head.HeadCommittedAt, Is.EqualTo(changes[^1].CommittedAt));
        Assert.That(caughtUp.Head.CursorCommittedAt, Is.EqualTo(changes[^1].CommittedAt));
        await cts.CancelAsync();
    }
}
