using Grpc.Core;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;
using static HashHub.Server.Tests.Integration.SharingGroupsTests;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// Probation: a new member's contributions are held (stored, audited, visible to itself and the admins) until an
/// admin releases them or, in confirmation mode, a member not on probation contributes the same signal.
/// </summary>
[TestFixture(StorageProvider.Sqlite, "AdminReview")]
[TestFixture(StorageProvider.Postgres, "AdminReview")]
[TestFixture(StorageProvider.Sqlite, "Confirmation")]
public sealed class ProbationTests(StorageProvider provider, string mode)
{
    private HubFactory _hub = null!;
    private HubClient _admin = null!;
    private IssuedCredential _newcomer = null!;
    private HubClient _probation = null!;
    private HubClient _other = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider, new Dictionary<string, string?> { ["Hub:Probation"] = mode });
        _admin = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Consortium Admins", isAdmin: true));
        _newcomer = await _hub.AddMemberAsync("Newcomer", probation: true);
        _probation = await _hub.ConnectAsAsync(_newcomer);
        _other = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Established"));
    }

    [TearDown]
    public void StopHub()
    {
        _probation.Dispose();
        _other.Dispose();
        _admin.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task Submit_OnProbation_IsHeld_VisibleToItselfAndAdminsOnly()
    {
        var signal = RandomMd5();
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(signal)));
        var get = new Proto.GetSignalRequest { SignalId = result.Results[0].SignalId };

        var own = await _probation.Contributions.GetSignalAsync(get);
        var admin = await _admin.Contributions.GetSignalAsync(get);
        var other = SharingGroupsTests.StatusOf(() => _other.Contributions.GetSignalAsync(get).ResponseAsync);
        var members = await _admin.Members.ListMembersAsync(new Proto.ListMembersRequest());
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });

        Assert.Multiple(async () =>
        {
            Assert.That(result.Results[0].Held, Is.True);
            Assert.That(own.Contributions.Single().Hold, Is.EqualTo(Proto.HoldState.Held));
            Assert.That(own.Status, Is.EqualTo(Proto.SignalStatus.Active));
            Assert.That(admin.Contributions.Single().Hold, Is.EqualTo(Proto.HoldState.Held));
            Assert.That(other, Is.EqualTo(StatusCode.NotFound));
            Assert.That(await ValuesSeenAsync(_other), Is.Empty);
            Assert.That(await ValuesSeenAsync(_probation), Is.EqualTo(new[] { signal.Value }));
            Assert.That(members.Members.Single(m => m.Id == _newcomer.MemberId).OnProbation, Is.True);
            Assert.That(audit.Entries.Last().Action, Is.EqualTo("contribution.submit"));
            Assert.That(audit.Entries.Last().Details, Does.Contain("\"contributions_held\":1"));
        });
    }

    [Test]
    public async Task Release_ByAdmin_AppendsAChangeOthersReceive()
    {
        var signal = RandomMd5();
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(signal)));
        var cursor = (await _other.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        var held = await _admin.Probation.ListHeldContributionsAsync(new Proto.ListHeldContributionsRequest { MemberId = _newcomer.MemberId });
        Assert.That(held.Contributions.Single().Signal.Value, Is.EqualTo(signal.Value));
        var released = await _admin.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest
        {
            ContributionIds = { result.Results[0].ContributionId }, Reason = "checked against the source",
        });

        var delta = await _other.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor });
        var again = SharingGroupsTests.StatusOf(() => _admin.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId } }).ResponseAsync);
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });
        Assert.Multiple(async () =>
        {
            Assert.That(released.Count, Is.EqualTo(1));
            Assert.That(delta.Changes.Single().Signal.Signal.Value, Is.EqualTo(signal.Value));
            Assert.That(delta.Changes.Single().Signal.Contributions.Single().Hold, Is.EqualTo(Proto.HoldState.Unspecified));
            Assert.That((await _admin.Probation.ListHeldContributionsAsync(new Proto.ListHeldContributionsRequest())).Contributions, Is.Empty);
            Assert.That(again, Is.EqualTo(StatusCode.FailedPrecondition), "no longer held");
            Assert.That(audit.Entries.Last().Action, Is.EqualTo("contribution.release"));
            Assert.That(audit.Entries.Last().Target, Is.EqualTo(result.Results[0].ContributionId));
        });
    }

    [Test]
    public async Task Release_GroupScopedHeldContribution_ReachesOnlyTheGroup()
    {
        var group = (await _admin.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "G" })).Id;
        await _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = group, MemberId = _newcomer.MemberId });
        using var insider = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Insider"));
        var insiderId = (await _admin.Members.ListMembersAsync(new Proto.ListMembersRequest())).Members.Single(m => m.Name == "Insider").Id;
        await _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = group, MemberId = insiderId });
        var signal = RandomMd5();
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(signal), group)));
        Assert.That(await ValuesSeenAsync(insider), Is.Empty, "held, even from its group");

        await _admin.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId } });

        Assert.That(await ValuesSeenAsync(insider), Is.EqualTo(new[] { signal.Value, signal.Value }));
        Assert.That(await ValuesSeenAsync(_other), Is.Empty);
    }

    [Test]
    public async Task Reject_ByAdmin_NeverShownToOthers_RetractedForItsMember()
    {
        var signal = RandomMd5();
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(signal)));
        var cursor = (await _probation.Sync.ReadChangesAsync(new Proto.ReadChangesRequest())).NextCursor;

        var noReason = await ContributionsTests.ViolationsOf(_admin.Probation.RejectContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId } }).ResponseAsync);
        await _admin.Probation.RejectContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId }, Reason = "not TVEC" });

        var own = await _probation.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor });
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });
        Assert.Multiple(async () =>
        {
            Assert.That(noReason.Single().Field, Is.EqualTo("reason"));
            Assert.That(own.Changes.Single().Kind, Is.EqualTo(Proto.ChangeKind.Retracted));
            Assert.That(own.Changes.Single().Signal.Contributions.Single().Hold, Is.EqualTo(Proto.HoldState.Rejected));
            Assert.That(await ValuesSeenAsync(_other), Is.Empty);
            Assert.That(audit.Entries.Last().Action, Is.EqualTo("contribution.reject"));
            Assert.That(audit.Entries.Last().Details, Does.Contain("not TVEC"));
        });
    }

    [Test]
    public async Task Decide_UnknownOrMixedIds_ChangesNothing()
    {
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var notHeld = await _other.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));

        var unknown = SharingGroupsTests.StatusOf(() => _admin.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId, "987654321" } }).ResponseAsync);
        var mixed = SharingGroupsTests.StatusOf(() => _admin.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { result.Results[0].ContributionId, notHeld.Results[0].ContributionId } }).ResponseAsync);

        Assert.That((unknown, mixed), Is.EqualTo((StatusCode.NotFound, StatusCode.FailedPrecondition)));
        Assert.That((await _admin.Probation.ListHeldContributionsAsync(new Proto.ListHeldContributionsRequest())).Contributions, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task SameSignal_FromAMemberNotOnProbation_ReleasesOnlyInConfirmationMode()
    {
        var signal = RandomMd5();
        await _probation.Contributions.SubmitContributionsAsync(Batch(Item(signal)));
        using var third = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Third"));

        await _other.Contributions.SubmitContributionsAsync(Batch(Item(signal)));

        var seen = await third.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = signal });
        var confirmedBefore = RandomMd5();
        await _other.Contributions.SubmitContributionsAsync(Batch(Item(confirmedBefore)));
        var late = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(confirmedBefore)));
        if (mode == "Confirmation")
        {
            Assert.That(seen.Contributions.Select(c => c.Provenance.MemberName), Is.EqualTo(new[] { "Newcomer", "Established" }));
            Assert.That(late.Results[0].Held, Is.False, "a signal a member not on probation already vouched for is not held");
            var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });
            Assert.That(audit.Entries.Single(e => e.Action == "contribution.release").Details, Does.Contain("confirmation"));
        }
        else
        {
            Assert.That(seen.Contributions.Select(c => c.Provenance.MemberName), Is.EqualTo(new[] { "Established" }));
            Assert.That(late.Results[0].Held, Is.True);
        }
    }

    [Test]
    public async Task EndProbation_LaterContributionsAreShared_HeldOnesReleasedWhenAsked()
    {
        var early = RandomMd5();
        await _probation.Contributions.SubmitContributionsAsync(Batch(Item(early)));

        var ended = await _admin.Probation.EndProbationAsync(new Proto.EndProbationRequest { MemberId = _newcomer.MemberId, ReleaseHeld = true, Reason = "three months clean" });
        var later = RandomMd5();
        var result = await _probation.Contributions.SubmitContributionsAsync(Batch(Item(later)));
        var twice = SharingGroupsTests.StatusOf(() => _admin.Probation.EndProbationAsync(new Proto.EndProbationRequest { MemberId = _newcomer.MemberId }).ResponseAsync);
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });

        Assert.Multiple(async () =>
        {
            Assert.That(ended.OnProbation, Is.False);
            Assert.That(result.Results[0].Held, Is.False);
            Assert.That(await ValuesSeenAsync(_other), Is.EquivalentTo(new[] { early.Value, early.Value, later.Value }), "created, released, later");
            Assert.That(twice, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(audit.Entries.Select(e => e.Action), Does.Contain("member.end_probation").And.Contain("contribution.release"));
        });
    }

    [Test]
    public async Task ApprovedApplication_StartsOnProbation_AddMemberCommandCanSkipIt()
    {
        using var anonymous = _hub.Connect(token: null);
        var applied = await anonymous.Applications.ApplyAsync(ApplicationsTests.Valid("Applicant Co"));
        var decided = await _admin.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest { ApplicationId = applied.Id, Decision = Proto.ApplicationStatus.Approved });
        await AdminCommands.RunAsync(_hub.Services, ["admin", "add-member", "Command Co"], new StringWriter());
        await AdminCommands.RunAsync(_hub.Services, ["admin", "add-member", "Trusted Co", "--no-probation"], new StringWriter());

        var members = (await _admin.Members.ListMembersAsync(new Proto.ListMembersRequest())).Members.ToDictionary(m => m.Name, m => m.OnProbation);

        Assert.That(decided.Application.MemberId, Does.StartWith("mbr_"));
        Assert.That((members["Applicant Co"], members["Command Co"], members["Trusted Co"], members["Consortium Admins"]), Is.EqualTo((true, true, false, false)));
    }
}

/// <summary>With probation off, new members share at once.</summary>
public sealed class ProbationOffTests
{
    [Test]
    public async Task Submit_ProbationOff_NotHeld()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Sqlite, new Dictionary<string, string?> { ["Hub:Probation"] = "Off" });
        using var member = await hub.ConnectAsAsync(await hub.AddMemberAsync("Newcomer", probation: true));

        var result = await member.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));

        Assert.That(result.Results[0].Held, Is.False);
    }
}
