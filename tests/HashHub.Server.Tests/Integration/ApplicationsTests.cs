using Grpc.Core;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>An organisation goes from application to working credentials only through an admin's approval.</summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class ApplicationsTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private HubClient _admin = null!;
    private HubClient _anonymous = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider);
        _admin = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Consortium Admins", isAdmin: true));
        _anonymous = _hub.Connect(token: null);
    }

    [TearDown]
    public void StopHub()
    {
        _admin.Dispose();
        _anonymous.Dispose();
        _hub.Dispose();
    }

    internal static Proto.ApplyRequest Valid(string name) => new()
    {
        OrganisationName = name,
        Website = "https://video.example",
        ContactEmail = "trust-and-safety@video.example",
        Description = "A video platform with 2M monthly users.",
        Criteria = new Proto.CriteriaAnswers
        {
            TermsProhibitTvec = true,
            TermsUrl = "https://video.example/terms",
            UserReportingAndAppeal = true,
            ReportingDescription = "Report button on every video; appeals reviewed within 48 hours.",
            TransparencyReportUrl = "https://video.example/transparency",
            HumanRightsCommitment = true,
        },
    };

    [Test]
    public async Task Approve_CreatesMemberWhoseCredentialsWork()
    {
        var applied = await _anonymous.Applications.ApplyAsync(Valid("Example Video Platform"));
        Assert.That(applied.Status, Is.EqualTo(Proto.ApplicationStatus.Pending));
        var listed = await _admin.Applications.ListApplicationsAsync(new Proto.ListApplicationsRequest { Status = Proto.ApplicationStatus.Pending });
        Assert.That(listed.Applications.Single().Criteria.ReportingDescription, Does.Contain("appeals reviewed"));

        var decided = await _admin.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest
        {
            ApplicationId = applied.Id, Decision = Proto.ApplicationStatus.Approved, Notes = "Terms and transparency report checked.",
        });

        Assert.That(decided.Application.Status, Is.EqualTo(Proto.ApplicationStatus.Approved));
        Assert.That(decided.Application.MemberId, Does.StartWith("mbr_"));
        using var member = await _hub.ConnectAsAsync(new IssuedCredential(decided.Application.MemberId, "Example Video Platform", decided.ClientId, decided.ClientSecret));
        var submitted = await member.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var record = await member.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = submitted.Results[0].SignalId });
        Assert.That(record.Contributions.Single().Provenance.MemberName, Is.EqualTo("Example Video Platform"));
        var again = Assert.ThrowsAsync<RpcException>(async () => await _admin.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest
        {
            ApplicationId = applied.Id, Decision = Proto.ApplicationStatus.Approved,
        }));
        Assert.That(again!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });
        Assert.That(audit.Entries.Select(e => e.Action).TakeLast(5), Is.EqualTo(new[] { "application.submit", "member.add", "credential.issue", "application.approve", "contribution.submit" }));
    }

    [Test]
    public async Task Reject_NeedsAReasonAndCreatesNoMember()
    {
        var applied = await _anonymous.Applications.ApplyAsync(Valid("Doubtful Forum"));
        var noReason = await ContributionsTests.ViolationsOf(_admin.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest
        {
            ApplicationId = applied.Id, Decision = Proto.ApplicationStatus.Rejected,
        }).ResponseAsync);

        var decided = await _admin.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest
        {
            ApplicationId = applied.Id, Decision = Proto.ApplicationStatus.Rejected, RejectionReason = "No way for users to appeal decisions.",
        });

        Assert.That(noReason.Single().Field, Is.EqualTo("rejection_reason"));
        Assert.That(decided.Application.Status, Is.EqualTo(Proto.ApplicationStatus.Rejected));
        Assert.That(decided.ClientSecret, Is.Empty);
        var members = await _admin.Members.ListMembersAsync(new Proto.ListMembersRequest());
        Assert.That(members.Members.Select(m => m.Name), Does.Not.Contain("Doubtful Forum"));
    }

    [Test]
    public async Task Apply_BadFieldsAndDuplicates_AreInvalidArgument()
    {
        var bad = Valid(" ");
        bad.Website = "ftp://x";
        bad.ContactEmail = "nobody";
        bad.Criteria.TermsUrl = string.Empty;

        var violations = await ContributionsTests.ViolationsOf(_anonymous.Applications.ApplyAsync(bad).ResponseAsync);
        await _anonymous.Applications.ApplyAsync(Valid("Twice Co"));
        var duplicate = await ContributionsTests.ViolationsOf(_anonymous.Applications.ApplyAsync(Valid("Twice Co")).ResponseAsync);

        Assert.That(violations.Select(v => v.Field), Is.EqualTo(new[] { "organisation_name", "website", "contact_email", "criteria.terms_url" }));
        Assert.That(duplicate.Single().Description, Does.Contain("pending application"));
    }

    [Test]
    public async Task Apply_IsRateLimitedPerAddress()
    {
        using var limited = await HubFactory.CreateAsync(StorageProvider.Sqlite, new Dictionary<string, string?> { ["RateLimits:Enabled"] = "true" });
        using var anonymous = limited.Connect(token: null);
        for (var i = 0; i < 5; i++)
        {
            await anonymous.Applications.ApplyAsync(Valid($"Applicant {i}"));
        }

        var ex = Assert.ThrowsAsync<RpcException>(async () => await anonymous.Applications.ApplyAsync(Valid("Applicant 6")));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
    }
}
