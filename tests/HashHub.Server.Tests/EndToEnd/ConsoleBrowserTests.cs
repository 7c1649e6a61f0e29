using Grpc.Core;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Tests.EndToEnd;

/// <summary>
/// The admin console in a real browser (Debian's chromium through Playwright) against a real hub process on
/// loopback ports: an admin created with <c>admin add-user</c> signs in with password and TOTP, approves an
/// application, and the credentials shown once work on the gRPC API; suspension in the console cuts the member off
/// at once. The TOTP codes are computed here from the key the console shows, as an authenticator app would.
/// </summary>
[NonParallelizable]
public sealed class ConsoleBrowserTests
{
    private HubProcess _hub = null!;
    private string _data = null!;

    private string BaseUrl => $"http://127.0.0.1:{_hub.HttpPort}";

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _data = Path.Combine(Path.GetTempPath(), "hashhub-console-" + Guid.NewGuid().ToString("N")[..8]);
        _hub = new HubProcess([$"--Storage:DataDirectory={_data}", "--RateLimits:Enabled=false"]);
        await _hub.StartAsync();
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        _hub.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Test]
    public async Task ApplyAndApprove_InBrowser_CredentialsShownOnceWorkOnGrpc()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        var organisation = "Browser Video " + Guid.NewGuid().ToString("N")[..6];

        // The public application page: no sign-in.
        await page.GotoAsync("/console/apply");
        await page.FillAsync("#Input_OrganisationName", organisation);
        await page.FillAsync("#Input_Website", "https://video.example");
        await page.FillAsync("#Input_ContactEmail", "trust@video.example");
        await page.FillAsync("#Input_Description", "A video platform with 2M monthly users.");
        await page.CheckAsync("#Input_TermsProhibitTvec");
        await page.FillAsync("#Input_TermsUrl", "https://video.example/terms");
        await page.CheckAsync("#Input_UserReportingAndAppeal");
        await page.FillAsync("#Input_ReportingDescription", "Report button on every video; appeals within 48 hours.");
        await page.FillAsync("#Input_TransparencyReportUrl", "https://video.example/transparency");
        await page.CheckAsync("#Input_HumanRightsCommitment");
        await page.ClickAsync("#apply");
        var applicationId = await page.Locator("#application-id").InnerTextAsync();
        Assert.That(applicationId, Does.StartWith("app_"));

        var email = await SignInFirstTimeAsync(page);
        await page.GotoAsync("/console/applications");
        var row = page.Locator($"tr[data-id='{applicationId}']");
        Assert.That(await row.InnerTextAsync(), Does.Contain(organisation).And.Contain("pending"));
        await row.Locator("a", new() { HasText = "Review" }).ClickAsync();
        var criteria = await page.Locator("#criteria").InnerTextAsync();
        Assert.That(criteria, Does.Contain("appeals within 48 hours").And.Contain("https://video.example/terms").And.Contain("https://video.example/transparency"));

        await page.FillAsync("#notes", "Checked the terms and the transparency report.");
        await page.ClickAsync("#save-notes");
        Assert.That(await page.Locator("#flash").InnerTextAsync(), Does.Contain("Notes saved"));

        await page.ClickAsync("#approve");
        var clientId = await page.Locator("#client-id").InnerTextAsync();
        var secret = await page.Locator("#client-secret").InnerTextAsync();
        await Expect(page.Locator("#application-status")).ToHaveTextAsync("approved");

        // Shown once: the application page, loaded again, no longer holds it.
        await page.ReloadAsync();
        Assert.That(await page.ContentAsync(), Does.Not.Contain(secret));

        var token = await _hub.GetTokenAsync(clientId, secret);
        using var channel = _hub.Channel();
        var labels = await new Proto.Taxonomy.TaxonomyClient(channel).ListLabelsAsync(new Proto.ListLabelsRequest(), Bearer(token));
        Assert.That(labels.Labels, Is.Not.Empty);

        // The decision is audited in the console user's name.
        await page.GotoAsync("/console/audit");
        var approval = page.Locator("#audit tr", new() { HasText = "application.approve" }).First;
        Assert.That(await approval.InnerTextAsync(), Does.Contain("console:" + email).And.Contain(applicationId));
    }

    [Test]
    public async Task SignIn_WrongTotpCode_IsRefusedAndConsoleStaysClosed()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        var (email, password) = await AddUserAsync();
        var (key, _) = await EnrolAsync(page, email, password);
        await page.ClickAsync("button:has-text('Sign out')");
        await page.Locator("#sign-in").WaitForAsync();

        await page.FillAsync("#Email", email);
        await page.FillAsync("#Password", password);
        await page.ClickAsync("#sign-in");
        await page.FillAsync("#Code", Totp.WrongCode(key, DateTimeOffset.UtcNow));
        await page.ClickAsync("#verify");
        Assert.That(await page.Locator("#error").InnerTextAsync(), Does.Contain("Wrong code"));

        // The password alone opened nothing.
        await page.GotoAsync("/console/members");
        Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/console/signin"));

        // The right code does.
        await page.FillAsync("#Email", email);
        await page.FillAsync("#Password", password);
        await page.ClickAsync("#sign-in");
        await page.FillAsync("#Code", Totp.Code(key, DateTimeOffset.UtcNow));
        await page.ClickAsync("#verify");
        await page.Locator("#members").WaitForAsync();
        Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/console/members"));
    }

    [Test]
    public async Task SignIn_WithRecoveryCode_WorksOnceOnly()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        var (email, password) = await AddUserAsync();
        var (_, codes) = await EnrolAsync(page, email, password);
        var recovery = codes[0];

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await page.ClickAsync("button:has-text('Sign out')");
            await page.FillAsync("#Email", email);
            await page.FillAsync("#Password", password);
            await page.ClickAsync("#sign-in");
            await page.FillAsync("#Code", recovery);
            await page.CheckAsync("#UseRecoveryCode");
            await page.ClickAsync("#verify");
            if (attempt == 0)
            {
                await Expect(page.Locator("#signed-in-as")).ToHaveTextAsync(email);
            }
            else
            {
                Assert.That(await page.Locator("#error").InnerTextAsync(), Does.Contain("recovery code is not valid"));
            }
        }
    }

    [Test]
    public async Task ConsolePage_SignedOut_RedirectsToSignIn()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        foreach (var path in new[] { "/console", "/console/applications", "/console/members", "/console/audit", "/console/labels" })
        {
            await page.GotoAsync(path);
            Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/console/signin"), path);
            await page.Locator("#sign-in").WaitForAsync();
        }
    }

    [Test]
    public async Task SignIn_PasswordOnly_LeadsToEnrolmentAndNothingElse()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        var (email, password) = await AddUserAsync();
        await page.GotoAsync("/console/signin");
        await page.FillAsync("#Email", email);
        await page.FillAsync("#Password", password);
        await page.ClickAsync("#sign-in");
        await page.Locator("#shared-key").WaitForAsync();
        var uri = await page.Locator("#authenticator-uri").GetAttributeAsync("href");
        Assert.That(uri, Does.StartWith("otpauth://totp/HashHub%3A").And.Contain("secret=").And.Contain("issuer=HashHub"));

        // Before the second factor is set up, every other page sends the user back to enrol.
        await page.GotoAsync("/console/members");
        Assert.That(new Uri(page.Url).AbsolutePath, Is.EqualTo("/console/enrol"));
    }

    [Test]
    public async Task Suspend_InConsole_MemberTokenFailsAtOnce()
    {
        // Applied over the public RPC this time, approved in the browser.
        using var channel = _hub.Channel();
        var applications = new Proto.Applications.ApplicationsClient(channel);
        var organisation = "Suspended Platform " + Guid.NewGuid().ToString("N")[..6];
        var applied = await applications.ApplyAsync(Integration.ApplicationsTests.Valid(organisation));

        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        await SignInFirstTimeAsync(page);
        await page.GotoAsync($"/console/applications/review?id={applied.Id}");
        await page.ClickAsync("#approve");
        var clientId = await page.Locator("#client-id").InnerTextAsync();
        var secret = await page.Locator("#client-secret").InnerTextAsync();
        var memberId = await page.Locator("#member-id").InnerTextAsync();

        var token = await _hub.GetTokenAsync(clientId, secret);
        var sync = new Proto.Sync.SyncClient(channel);
        await sync.ReadChangesAsync(new Proto.ReadChangesRequest(), Bearer(token));

        await page.GotoAsync($"/console/members/detail?id={memberId}");
        // An approved applicant starts on probation (the default) and in no sharing group.
        Assert.That(await page.Locator("#probation").InnerTextAsync(), Does.StartWith("On probation"));
        Assert.That(await page.Locator("#sharing-groups").InnerTextAsync(), Does.Contain("no sharing group"));
        // An admin adds it to a group over the SharingGroups RPCs; its page lists the group.
        var adminCredential = (await _hub.RunCommandAsync("admin", "bootstrap", "Console Test Admins")).Split('\n')
            .Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        var adminToken = await _hub.GetTokenAsync(adminCredential["client_id"], adminCredential["client_secret"]);
        var groups = new Proto.SharingGroups.SharingGroupsClient(channel);
        var group = await groups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Livestream response " + Guid.NewGuid().ToString("N")[..6] }, Bearer(adminToken));
        await groups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = group.Id, MemberId = memberId, Reason = "crisis cell" }, Bearer(adminToken));
        await page.ReloadAsync();
        Assert.That(await page.Locator("#sharing-groups").InnerTextAsync(), Does.Contain(group.Name).And.Contain(group.Id));
        await page.FillAsync("#status-reason", "Shared a hash list outside the consortium.");
        await page.ClickAsync("#suspend");
        await Expect(page.Locator("#member-status")).ToHaveTextAsync("suspended");

        // The same unexpired token, on the very next call.
        var failed = Assert.ThrowsAsync<RpcException>(async () => await sync.ReadChangesAsync(new Proto.ReadChangesRequest(), Bearer(token)));
        Assert.That(failed!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));

        await page.FillAsync("#status-reason", "Resolved.");
        await page.ClickAsync("#reinstate");
        await Expect(page.Locator("#member-status")).ToHaveTextAsync("active");
        await sync.ReadChangesAsync(new Proto.ReadChangesRequest(), Bearer(token));
    }

    [Test]
    public async Task AuditPage_AfterConsoleActions_ShowsChainVerified()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        var email = await SignInFirstTimeAsync(page);

        var name = "e2e_" + Guid.NewGuid().ToString("N")[..8];
        await page.GotoAsync("/console/labels");
        await page.SelectOptionAsync("#Category", "behavior");
        await page.FillAsync("#label-name", name);
        await page.FillAsync("#label-display-name", "Browser-test label");
        await page.ClickAsync("#add-label");
        Assert.That(await page.Locator("#flash").InnerTextAsync(), Does.Contain("behavior:" + name));

        await page.GotoAsync("/console/audit");
        Assert.That(await page.Locator("#verification").InnerTextAsync(), Does.Contain("intact"));
        var added = page.Locator("#audit tr", new() { HasText = "behavior:" + name }).First;
        Assert.That(await added.InnerTextAsync(), Does.Contain("taxonomy.add_label").And.Contain("console:" + email));
        Assert.That(await page.Locator("#audit").InnerTextAsync(), Does.Contain("console.totp_enrol").And.Contain("console.user_add"));

        // The console's cookie is no credential for the gRPC API.
        var cookies = string.Join("; ", (await browser.Context.CookiesAsync()).Select(c => $"{c.Name}={c.Value}"));
        using var channel = _hub.Channel();
        var denied = Assert.ThrowsAsync<RpcException>(async () =>
            await new Proto.Audit.AuditClient(channel).VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest(), new Metadata { { "cookie", cookies } }));
        Assert.That(denied!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
    }

    [Test]
    public async Task AuditPage_TamperedEntry_ShowsTheFirstBrokenEntry()
    {
        await using var browser = await ConsoleBrowser.LaunchAsync(BaseUrl);
        var page = browser.Page;
        await SignInFirstTimeAsync(page);

        // Change one stored entry behind the hub's back, as someone with access to the database could.
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_data, "hashhub.db")};Pooling=False");
        await db.OpenAsync();
        await using var read = db.CreateCommand();
        read.CommandText = "SELECT \"Seq\", \"Details\" FROM audit_log ORDER BY \"Seq\" DESC LIMIT 1";
        long seq;
        string details;
        await using (var reader = await read.ExecuteReaderAsync())
        {
            Assert.That(await reader.ReadAsync(), Is.True);
            (seq, details) = (reader.GetInt64(0), reader.GetString(1));
        }
        await SetDetailsAsync(db, seq, details.Replace("10", "11", StringComparison.Ordinal) + " ");
        try
        {
            await page.GotoAsync("/console/audit");
            Assert.That(await page.Locator("#verification").InnerTextAsync(), Does.Contain($"BROKEN at entry {seq}").And.Contain("changed"));
            Assert.That(await page.Locator($"#seq-{seq}").GetAttributeAsync("class"), Is.EqualTo("broken"));
        }
        finally
        {
            // Put it back: the other tests of this hub expect an intact chain.
            await SetDetailsAsync(db, seq, details);
        }
        await page.ReloadAsync();
        Assert.That(await page.Locator("#verification").InnerTextAsync(), Does.Contain("intact"));

        static async Task SetDetailsAsync(Microsoft.Data.Sqlite.SqliteConnection db, long seq, string details)
        {
            await using var write = db.CreateCommand();
            write.CommandText = "UPDATE audit_log SET \"Details\" = $d WHERE \"Seq\" = $s";
            write.Parameters.AddWithValue("$d", details);
            write.Parameters.AddWithValue("$s", seq);
            Assert.That(await write.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }
    }

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private async Task<(string Email, string Password)> AddUserAsync()
    {
        var email = $"admin-{Guid.NewGuid().ToString("N")[..8]}@consortium.example";
        var printed = await _hub.RunCommandAsync("admin", "add-user", email);
        var password = printed.Split('\n').Single(l => l.StartsWith("password:", StringComparison.Ordinal))["password:".Length..].Trim();
        return (email, password);
    }

    /// <summary>A new console user signs in for the first time and enrols its authenticator; returns its e-mail.</summary>
    private async Task<string> SignInFirstTimeAsync(IPage page)
    {
        var (email, password) = await AddUserAsync();
        await EnrolAsync(page, email, password);
        return email;
    }

    /// <summary>Password, then the enrolment page: reads the shared key, answers with the current code. Returns the key and the recovery codes.</summary>
    private static async Task<(string Key, IReadOnlyList<string> RecoveryCodes)> EnrolAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/console/signin");
        await page.FillAsync("#Email", email);
        await page.FillAsync("#Password", password);
        await page.ClickAsync("#sign-in");
        var key = await page.Locator("#shared-key").InnerTextAsync();
        await page.FillAsync("#Code", Totp.Code(key, DateTimeOffset.UtcNow));
        await page.ClickAsync("#enrol");
        await Expect(page.Locator("#recovery-codes li")).ToHaveCountAsync(10);
        var codes = await page.Locator("#recovery-codes li").AllInnerTextsAsync();
        await page.ClickAsync("#continue");
        await page.Locator("#signed-in-as").WaitForAsync();
        Assert.That(await page.Locator("#signed-in-as").InnerTextAsync(), Is.EqualTo(email));
        return (key, codes);
    }
}
