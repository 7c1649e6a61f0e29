using Grpc.Core;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// Sharing scopes: a contribution shared with named sharing groups reaches their members only; outsiders see the
/// signal as the contributions visible to them, and not at all (not even as a tombstone) when none is.
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class SharingGroupsTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private HubClient _admin = null!;
    private IssuedCredential _alpha = null!;
    private IssuedCredential _beta = null!;
    private IssuedCredential _gamma = null!;
    private HubClient _a = null!;
    private HubClient _b = null!;
    private HubClient _outsider = null!;
    private string _group = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider);
        _admin = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Consortium Admins", isAdmin: true));
        _alpha = await _hub.AddMemberAsync("Alpha");
        _beta = await _hub.AddMemberAsync("Beta");
        _gamma = await _hub.AddMemberAsync("Gamma");
        _group = (await _admin.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Livestream task force" })).Id;
        await AddToGroupAsync(_alpha.MemberId);
        await AddToGroupAsync(_beta.MemberId);
        _a = await _hub.ConnectAsAsync(_alpha);
        _b = await _hub.ConnectAsAsync(_beta);
        _outsider = await _hub.ConnectAsAsync(_gamma);
    }

    [TearDown]
    public void StopHub()
    {
        _a.Dispose();
        _b.Dispose();
        _outsider.Dispose();
        _admin.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task Submit_ScopedToGroup_OnlyGroupMembersAndAdminsSeeIt()
    {
        var scoped = RandomMd5();
        var shared = RandomMd5();
        var result = await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(scoped), _group), Item(shared)));
        var scopedId = result.Results[0].SignalId;

        var member = await _b.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = scopedId });
        var admin = await _admin.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = scoped });
        var byId = StatusOf(() => _outsider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = scopedId }).ResponseAsync);
        var byValue = Assert.ThrowsAsync<RpcException>(async () => await _outsider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = scoped }));
        var unknown = Assert.ThrowsAsync<RpcException>(async () => await _outsider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = RandomMd5() }));

        Assert.Multiple(() =>
        {
            Assert.That(member.Status, Is.EqualTo(Proto.SignalStatus.Active));
            Assert.That(member.Contributions.Single().SharingGroupIds, Is.EqualTo(new[] { _group }));
            Assert.That(admin.Contributions, Has.Count.EqualTo(1));
            Assert.That(byId, Is.EqualTo(StatusCode.NotFound));
            Assert.That(byValue!.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(byValue.Status.Detail, Is.EqualTo($"No md5 signal {scoped.Value} is known to the hub."), "answers as for an unknown signal");
            Assert.That(unknown!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        });
        Assert.That(await ValuesSeenAsync(_b), Is.EquivalentTo(new[] { scoped.Value, shared.Value }));
        Assert.That(await ValuesSeenAsync(_outsider), Is.EqualTo(new[] { shared.Value }), "skipped entirely, not even a tombstone");
        Assert.That(await ValuesSeenAsync(_admin), Is.EquivalentTo(new[] { scoped.Value, shared.Value }));
    }

    [Test]
    public async Task Submit_ToGroupCallerIsNotIn_IsInvalidArgumentAndWritesNothing()
    {
        var signal = RandomMd5();
        var violations = await ContributionsTests.ViolationsOf(_outsider.Contributions.SubmitContributionsAsync(
            Batch(Item(RandomMd5()), InGroup(Item(signal), _group), InGroup(Item(RandomMd5()), "grp_doesnotexist"))).ResponseAsync);

        Assert.That(violations.Select(v => v.Field), Is.EqualTo(new[] { "items[1].sharing_group_ids[0]", "items[2].sharing_group_ids[0]" }));
        Assert.That(violations.Select(v => v.Description).Distinct().Count(), Is.EqualTo(1), "the same answer for a group that does not exist");
        Assert.That(await ValuesSeenAsync(_admin), Is.Empty);
    }

    [Test]
    public async Task Signal_SharedWithAllAndWithGroup_OutsiderSeesOnlyTheSharedPart_ThenATombstone()
    {
        var signal = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal, "behavior:recruitment"), _group)));
        using var delta = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Delta"));
        var open = await delta.Contributions.SubmitContributionsAsync(Batch(Item(signal, "behavior:glorification")));

        var outside = await _outsider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = signal });
        Assert.That(outside.Contributions.Select(c => c.Provenance.MemberName), Is.EqualTo(new[] { "Delta" }));
        Assert.That(outside.Labels, Is.EqualTo(new[] { "behavior:glorification" }), "labels of visible contributions only");
        var cursor = (await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;
        var groupCursor = (await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        await delta.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = open.Results[0].ContributionId });

        var outsider = await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor });
        var insider = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = groupCursor });
        Assert.Multiple(() =>
        {
            Assert.That(outsider.Changes.Single().Kind, Is.EqualTo(Proto.ChangeKind.Retracted), "it saw the signal: it learns the removal");
            Assert.That(outsider.Changes.Single().Signal.Status, Is.EqualTo(Proto.SignalStatus.Retracted));
            Assert.That(insider.Changes.Single().Kind, Is.EqualTo(Proto.ChangeKind.Updated));
            Assert.That(insider.Changes.Single().Signal.Status, Is.EqualTo(Proto.SignalStatus.Active), "still active within the group");
            Assert.That(insider.Changes.Single().Signal.Labels, Is.EqualTo(new[] { "behavior:recruitment" }));
        });
    }

    [Test]
    public async Task MatchAndReportOutcomes_GroupOnlySignal_OutsiderGetsNoMatchAndNoSuchSignal()
    {
        var signal = RandomMd5();
        var result = await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal), _group)));

        var insider = await _b.Matching.MatchAsync(new Proto.MatchRequest { Signals = { signal } });
        var outsider = await _outsider.Matching.MatchAsync(new Proto.MatchRequest { Signals = { signal } });
        var report = new Proto.ReportOutcomesRequest
        {
            IdempotencyKey = Guid.NewGuid().ToString("N"),
            Reports = { new Proto.OutcomeReport { SignalId = result.Results[0].SignalId, Outcome = Proto.MatchOutcome.Matched } },
        };
        var outsiderReport = await ContributionsTests.ViolationsOf(_outsider.Matching.ReportOutcomesAsync(report).ResponseAsync);

        Assert.That(insider.Matches.Single().Signal.Contributions.Single().SharingGroupIds, Is.EqualTo(new[] { _group }));
        Assert.That(outsider.Matches, Is.Empty);
        Assert.That(outsiderReport.Single().Field, Is.EqualTo("reports[0].signal_id"), "as for a signal that does not exist");
    }

    [Test]
    public async Task Retract_GroupOnlySignal_OutsiderNeverHearsOfIt()
    {
        var signal = RandomMd5();
        var result = await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal), _group)));
        await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = result.Results[0].ContributionId });

        var outsider = await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        var insider = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());

        Assert.That(outsider.Changes, Is.Empty);
        Assert.That(outsider.HasMore, Is.False);
        Assert.That(insider.Changes.Select(c => c.Kind), Is.EqualTo(new[] { Proto.ChangeKind.Created, Proto.ChangeKind.Retracted }));
    }

    [Test]
    public async Task Resubmit_WithNarrowerScope_RetractsTheOpenContributionForOutsiders()
    {
        var signal = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(signal)));
        var cursor = (await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        var narrowed = await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal), _group)));

        var outsider = await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor });
        var insider = await _b.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = signal });
        Assert.Multiple(() =>
        {
            Assert.That(narrowed.Results[0].UpdatedExisting, Is.False, "a new scope is a new contribution");
            Assert.That(outsider.Changes.Single().Kind, Is.EqualTo(Proto.ChangeKind.Retracted));
            Assert.That(insider.Status, Is.EqualTo(Proto.SignalStatus.Active));
            Assert.That(insider.Contributions.Select(c => (c.Status, c.SharingGroupIds.Count)),
                Is.EqualTo(new[] { (Proto.ContributionStatus.Retracted, 0), (Proto.ContributionStatus.Active, 1) }));
        });
    }

    [Test]
    public async Task ReadChanges_ManyChangesFilteredOut_PagesStayBoundedAndAdvance()
    {
        for (var i = 0; i < 5; i++)
        {
            await _a.Contributions.SubmitContributionsAsync(Batch([.. Enumerable.Range(0, 10).Select(_ => InGroup(Item(RandomMd5()), _group))]));
        }
        var visible = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(visible)));

        var pages = new List<Proto.ReadChangesResponse>();
        var cursor = string.Empty;
        do
        {
            var page = await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 10 });
            Assert.That(page.NextCursor, Is.Not.EqualTo(cursor), "an empty page still advances");
            cursor = page.NextCursor;
            pages.Add(page);
        }
        while (pages[^1].HasMore);

        Assert.That(pages, Has.Count.EqualTo(6), "51 changes in pages of 10");
        Assert.That(pages.Take(5).SelectMany(p => p.Changes), Is.Empty);
        Assert.That(pages[^1].Changes.Single().Signal.Signal.Value, Is.EqualTo(visible.Value));
    }

    [Test]
    public async Task GroupMembershipChange_OldCursor_IsResyncRequired_AndAFreshSyncShowsTheGroup()
    {
        var signal = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal), _group)));
        var cursor = (await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;
        Assert.That(await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor }), Is.Not.Null);

        await AddToGroupAsync(_gamma.MemberId);

        var stale = Assert.ThrowsAsync<RpcException>(async () => await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor }));
        Assert.That(stale!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(stale.Status.Detail, Does.StartWith("resync required"));
        Assert.That(await ValuesSeenAsync(_outsider), Is.EqualTo(new[] { signal.Value }));

        var cursorInGroup = (await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;
        await _admin.SharingGroups.RemoveSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = _gamma.MemberId, Reason = "left the task force" });
        var staleAgain = Assert.ThrowsAsync<RpcException>(async () => await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursorInGroup }));
        Assert.That(staleAgain!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(await ValuesSeenAsync(_outsider), Is.Empty);
    }

    [Test]
    public async Task Subscribe_GroupMembershipChanges_StreamEndsWithResyncRequired()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = _outsider.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        Assert.That(await call.ResponseStream.MoveNext(cts.Token), Is.True);
        Assert.That(call.ResponseStream.Current.EventCase, Is.EqualTo(Proto.SubscribeResponse.EventOneofCase.CaughtUp));

        await AddToGroupAsync(_gamma.MemberId);

        var ex = Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(cts.Token))
            {
            }
        });
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(ex.Status.Detail, Does.StartWith("resync required"));
    }

    [Test]
    public async Task Subscribe_GroupContribution_ReachesMembersNotOutsiders()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var insider = _b.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        using var outsider = _outsider.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        Assert.That(await insider.ResponseStream.MoveNext(cts.Token), Is.True);
        Assert.That(await outsider.ResponseStream.MoveNext(cts.Token), Is.True);

        var scoped = RandomMd5();
        var shared = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(scoped), _group)));
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(shared)));

        Assert.That(await NextChangeAsync(insider, cts.Token), Is.EqualTo(scoped.Value));
        Assert.That(await NextChangeAsync(outsider, cts.Token), Is.EqualTo(shared.Value), "the group's change never reaches it");
        await cts.CancelAsync();
    }

    [Test]
    public async Task GroupAdministration_IsAudited_AndMembersListOnlyTheirGroups()
    {
        var second = await _admin.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Other", Description = "d" });
        var duplicate = await ContributionsTests.ViolationsOf(_admin.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Other" }).ResponseAsync);
        await _admin.SharingGroups.RemoveSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = _beta.MemberId, Reason = "r" });
        var missing = StatusOf(() => _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = "mbr_none" }).ResponseAsync);

        var all = await _admin.SharingGroups.ListSharingGroupsAsync(new Proto.ListSharingGroupsRequest());
        var mine = await _a.SharingGroups.ListSharingGroupsAsync(new Proto.ListSharingGroupsRequest());
        var none = await _outsider.SharingGroups.ListSharingGroupsAsync(new Proto.ListSharingGroupsRequest());
        var members = await _admin.Members.ListMembersAsync(new Proto.ListMembersRequest());
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 200 });

        Assert.Multiple(() =>
        {
            Assert.That(duplicate.Single().Field, Is.EqualTo("name"));
            Assert.That(missing, Is.EqualTo(StatusCode.NotFound));
            Assert.That(all.Groups.Select(g => g.Name), Is.EqualTo(new[] { "Livestream task force", "Other" }));
            Assert.That(all.Groups[0].MemberIds, Is.EqualTo(new[] { _alpha.MemberId }));
            Assert.That(mine.Groups.Select(g => (g.Id, g.MemberIds.Count)), Is.EqualTo(new[] { (_group, 0) }), "no membership list for members");
            Assert.That(none.Groups, Is.Empty);
            Assert.That(members.Members.Single(m => m.Id == _alpha.MemberId).SharingGroupIds, Is.EqualTo(new[] { _group }));
            Assert.That(audit.Entries.Select(e => (e.Action, e.Target)), Is.SupersetOf(new[]
            {
                ("sharing_group.create", _group), ("sharing_group.create", second.Id),
                ("sharing_group.add_member", _group), ("sharing_group.remove_member", _group),
            }));
            Assert.That(audit.Entries.Count(e => e.Action == "sharing_group.add_member"), Is.EqualTo(2));
        });
        var verify = await _admin.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest());
        Assert.That(verify.Intact, Is.True);
    }

    [Test]
    public async Task GetLogHead_Outsider_CountsGroupChangesItWillNotReceive()
    {
        var synced = (await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;
        await _a.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(RandomMd5()), _group), InGroup(Item(RandomMd5()), _group)));

        // The count is an upper bound for the caller: the outsider is told of two changes, and reading them brings
        // none (they are not for it), after which it is caught up.
        var head = await _outsider.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest { Cursor = synced });
        var page = await _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = synced });
        var member = await _b.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest());

        Assert.That(head.ChangesAfterCursor, Is.EqualTo(2));
        Assert.That(page.Changes, Is.Empty);
        Assert.That(page.Head.ChangesAfterCursor, Is.Zero);
        Assert.That(member.ChangesAfterCursor, Is.EqualTo(2));
    }

    internal static Proto.ContributionInput InGroup(Proto.ContributionInput item, params string[] groups)
    {
        item.SharingGroupIds.AddRange(groups);
        return item;
    }

    /// <summary>The values of every change a full sync from the start delivers to <paramref name="client"/>.</summary>
    internal static async Task<List<string>> ValuesSeenAsync(HubClient client)
    {
        var values = new List<string>();
        var cursor = string.Empty;
        while (true)
        {
            var page = await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor });
            values.AddRange(page.Changes.Select(c => c.Signal.Signal.Value));
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return values;
            }
        }
    }

    private async Task AddToGroupAsync(string memberId) =>
        await _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = memberId, Reason = "task force" });

    private static async Task<string> NextChangeAsync(AsyncServerStreamingCall<Proto.SubscribeResponse> call, CancellationToken ct)
    {
        while (await call.ResponseStream.MoveNext(ct))
        {
            if (call.ResponseStream.Current.EventCase == Proto.SubscribeResponse.EventOneofCase.Change)
            {
                return call.ResponseStream.Current.Change.Signal.Signal.Value;
            }
        }
        throw new InvalidOperationException("the stream ended");
    }

    internal static StatusCode StatusOf(Func<Task> call)
    {
        try
        {
            call().GetAwaiter().GetResult();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
