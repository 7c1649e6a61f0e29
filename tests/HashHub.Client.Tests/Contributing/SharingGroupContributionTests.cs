using Grpc.Core;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.Contributing;

/// <summary>
/// <c>ContributeAsync</c> with sharing groups against a real hub process: the contribution reaches the group's members
/// and no one else, and a group the member may not name is refused with the field, recording nothing.
/// </summary>
public sealed class SharingGroupContributionTests
{
    private const string A = "Platform A";
    private const string B = "Platform B";
    private const string Outsider = "Platform C";
    private RealHub _hub = null!;
    private string _group = null!;
    private string _groupWithoutA = null!;

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _hub = await RealHub.StartWithAdminAsync(A, B, Outsider);
        _group = await _hub.CreateSharingGroupAsync("Livestream task force", A, B);
        _groupWithoutA = await _hub.CreateSharingGroupAsync("B and C only", B, Outsider);
    }

    [OneTimeTearDown]
    public async Task StopHub() => await _hub.DisposeAsync();

    [Test]
    public async Task ContributeAsync_SharedWithGroup_ReachesItsMembersAndNotAnOutsider()
    {
        var image = TestImages.Synthetic(seed: 41);
        await using var a = await _hub.OpenAsync(A);
        await using var member = await _hub.OpenAsync(B, _hub.NewStorePath("b"));
        await using var outsider = await _hub.OpenAsync(Outsider, _hub.NewStorePath("c"));

        var receipt = await a.ContributeAsync(new MemoryStream(image), ["behavior:glorification"], sharingGroupIds: [_group]);
        var memberSync = await member.SyncAsync();
        var outsiderSync = await outsider.SyncAsync();
        var memberMatch = await member.MatchAsync(new MemoryStream(image));
        var outsiderMatch = await outsider.MatchAsync(new MemoryStream(image));

        Assert.Multiple(() =>
        {
            Assert.That(receipt.Signals, Has.Count.EqualTo(3));
            Assert.That(memberSync.ChangesApplied, Is.EqualTo(3));
            Assert.That(memberMatch.Matches.Select(m => m.SignalType), Is.EquivalentTo(new[] { "pdq", "md5", "sha256" }));
            Assert.That(memberMatch.Matches.All(m => m.Contributors.Single().MemberName == A), Is.True);
            Assert.That(outsiderSync.ChangesApplied, Is.Zero);
            Assert.That(outsider.GetStoreStatus().SignalsHeld, Is.Zero);
            Assert.That(outsiderMatch.IsMatch, Is.False);
        });
    }

    [Test]
    public async Task ContributeAsync_GroupTheMemberIsNotIn_FailsWithTheFieldAndRecordsNothing()
    {
        await using var a = await _hub.OpenAsync(A);
        var (before, _) = await RealHub.ReadLogAsync(a);

        var notIn = Assert.ThrowsAsync<RpcException>(() =>
            a.ContributeAsync(new MemoryStream(TestImages.Synthetic(seed: 42)), ["behavior:glorification"], sharingGroupIds: [_group, _groupWithoutA]));
        var unknown = Assert.ThrowsAsync<RpcException>(() =>
            a.ContributeAsync(new MemoryStream(TestImages.Synthetic(seed: 43)), ["behavior:glorification"], sharingGroupIds: ["grp_0000000000000000"]));

        Assert.That(notIn!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        // One violation per hash sent (pdq, md5, sha256), each naming the second group given.
        var fields = HubErrors.FieldViolations(notIn).Select(v => v.Field).ToList();
        Assert.That(fields, Is.EqualTo(new[] { "items[0].sharing_group_ids[1]", "items[1].sharing_group_ids[1]", "items[2].sharing_group_ids[1]" }));
        Assert.That(HubErrors.FieldViolations(notIn)[0].Description, Does.Contain("sharing group"));
        // The same answer for a group that does not exist, so group ids do not leak.
        Assert.That(unknown!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(HubErrors.FieldViolations(unknown).Select(v => v.Field), Has.All.EndsWith(".sharing_group_ids[0]"));
        Assert.That((await RealHub.ReadLogAsync(a)).Changes, Is.EqualTo(before));
    }
}
