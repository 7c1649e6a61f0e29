using System.Net;
using System.Net.Http.Headers;
using HashHub.Server.AdminConsole;
using HashHub.Server.Audit;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// The console's doors without a browser: which pages need what, bearer tokens do not open it, forms need their
/// anti-forgery token, and the <c>admin add-user</c> command (on both databases, so Identity's tables are there).
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class ConsoleAuthorizationTests(StorageProvider provider)
{
    /// <summary>Pages anyone may open, and pages for a user signed in with the password only.</summary>
    private static readonly string[] Anonymous = ["/Console/Apply", "/Console/SignIn", "/Console/TwoFactor"];
    private static readonly string[] PasswordOnly = ["/Console/Enrol", "/Console/SignOut"];

    private HubFactory _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await HubFactory.CreateAsync(provider);

    [OneTimeTearDown]
    public void StopHub() => _hub.Dispose();

    [Test]
    public void EveryConsolePage_NeedsTheSecondFactor_UnlessListedHere()
    {
        var pages = _hub.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .Select(e => (Endpoint: e, Page: e.Metadata.GetMetadata<PageActionDescriptor>()))
            .Where(p => p.Page is not null)
            .ToList();
        Assert.That(pages.Select(p => p.Page!.ViewEnginePath), Does.Contain("/Console/Members/Detail").And.Contain("/Console/Audit"));
        foreach (var (endpoint, page) in pages)
        {
            var path = page!.ViewEnginePath;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            if (Anonymous.Contains(path))
            {
                Assert.That(anonymous, Is.True, path);
            }
            else if (PasswordOnly.Contains(path))
            {
                Assert.That((anonymous, policies), Is.EqualTo((false, new List<string?> { ConsolePolicies.Enrolling })), path);
            }
            else
            {
                Assert.That((anonymous, policies), Is.EqualTo((false, new List<string?> { ConsolePolicies.Admin })), $"{path} must be for signed-in admins (derive from ConsolePageModel) or be listed here");
            }
        }
    }

    [TestCase("/console/members")]
    [TestCase("/console/audit")]
    [TestCase("/console/enrol")]
    public async Task ConsolePage_WithAdminBearerToken_RedirectsToSignIn(string path)
    {
        var admin = await _hub.AddMemberAsync("Admins " + Guid.NewGuid().ToString("N")[..6], isAdmin: true);
        var token = await _hub.GetTokenAsync(admin);
        using var http = _hub.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.AbsolutePath, Is.EqualTo("/console/signin"));
    }

    [TestCase("/console/apply")]
    [TestCase("/console/signin")]
    [TestCase("/console/labels")]
    public async Task ConsoleForm_PostedWithoutAntiforgeryToken_IsRejected(string path)
    {
        using var http = _hub.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var name = "Forged " + Guid.NewGuid().ToString("N")[..6];
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.OrganisationName"] = name,
            ["Input.Website"] = "https://forged.example",
            ["Input.ContactEmail"] = "a@forged.example",
            ["Email"] = "a@forged.example",
            ["Password"] = "whatever-password",
            ["Name"] = "forged",
            ["DisplayName"] = "Forged",
        });
        using var response = await http.PostAsync(path, form);
        // Pages for signed-in admins send a stranger to sign in before anything else; the public forms refuse.
        Assert.That(response.StatusCode, Is.AnyOf(HttpStatusCode.BadRequest, HttpStatusCode.Redirect));
        await using var scope = _hub.Services.CreateAsyncScope();
        Assert.That(await scope.ServiceProvider.GetRequiredService<HubDbContext>().Applications.AnyAsync(a => a.OrganisationName == name), Is.False);
    }

    [Test]
    public async Task PublicForm_PostedWithoutAntiforgeryToken_IsBadRequest()
    {
        using var http = _hub.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["Input.OrganisationName"] = "No Token Org" });
        using var response = await http.PostAsync("/console/apply", form);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task AddUserCommand_CreatesUserWithPrintedPassword_AndAuditsIt()
    {
        var email = $"ops-{Guid.NewGuid().ToString("N")[..6]}@consortium.example";
        using var output = new StringWriter();
        var exit = await AdminCommands.RunAsync(_hub.Services, ["admin", "add-user", email], output);
        Assert.That(exit, Is.Zero, output.ToString());
        var password = output.ToString().Split('\n').Single(l => l.StartsWith("password:", StringComparison.Ordinal))["password:".Length..].Trim();

        await using var scope = _hub.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ConsoleUser>>();
        var user = await users.FindByEmailAsync(email);
        Assert.That(user, Is.Not.Null);
        Assert.That(await users.CheckPasswordAsync(user!, password), Is.True);
        Assert.That((user!.TwoFactorEnabled, user.LockoutEnabled), Is.EqualTo((false, true)));

        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var entry = await db.AuditLog.AsNoTracking().SingleAsync(e => e.Action == "console.user_add" && e.Target == "console:" + email);
        Assert.That(entry.ActorId, Is.EqualTo(AuditChain.OperatorActor));
        Assert.That(entry.Details, Does.Not.Contain(password));
        Assert.That((await AuditChain.VerifyAsync(db, CancellationToken.None)).Intact, Is.True);

        using var again = new StringWriter();
        Assert.That(await AdminCommands.RunAsync(_hub.Services, ["admin", "add-user", email], again), Is.EqualTo(1));
    }

    [Test]
    public async Task ConsoleActor_WithLongEmail_IsAuditedAsTheDecider()
    {
        // Long enough to overflow a column sized for member ids: the console's actors are people, named by e-mail.
        var email = $"reviewer-{Guid.NewGuid():N}@trust-and-safety.consortium.example";
        await using var scope = _hub.Services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<MembershipApplications>();
        var applied = await applications.ApplyAsync(new ApplicationForm("Long Actor " + Guid.NewGuid().ToString("N")[..6], "https://long.example",
            "a@long.example", string.Empty, true, "https://long.example/terms", true, string.Empty, string.Empty, true), CancellationToken.None);
        scope.ServiceProvider.GetRequiredService<MemberAdministration>().Actor = (ConsoleUsers.ActorOf(email), ConsoleUsers.Client);
        var decision = await applications.DecideAsync(applied.Id, approve: true, "Looks right.", null, CancellationToken.None);

        Assert.That(decision.Application.DecidedBy, Is.EqualTo("console:" + email));
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var actors = await db.AuditLog.AsNoTracking().Where(e => e.ActorId == "console:" + email).Select(e => e.Action).ToListAsync();
        Assert.That(actors, Is.EquivalentTo(new[] { "member.add", "credential.issue", "application.approve" }));
    }

    [Test]
    public async Task WrongPasswords_LockTheAccount()
    {
        var email = $"lock-{Guid.NewGuid().ToString("N")[..6]}@consortium.example";
        await using var scope = _hub.Services.CreateAsyncScope();
        var password = await scope.ServiceProvider.GetRequiredService<ConsoleUsers>().CreateAsync(email, CancellationToken.None);
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ConsoleUser>>();
        var user = (await users.FindByEmailAsync(email))!;
        for (var i = 0; i < users.Options.Lockout.MaxFailedAccessAttempts; i++)
        {
            await users.AccessFailedAsync(user);
        }
        Assert.That(await users.IsLockedOutAsync(user), Is.True);
        // Locked out, the right password does not sign in either.
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<ConsoleUser>>();
        Assert.That((await signIn.CheckPasswordSignInAsync(user, password, lockoutOnFailure: true)).IsLockedOut, Is.True);
    }
}
