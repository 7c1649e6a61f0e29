using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.AdminConsole.Pages.Members;

/// <summary>
/// One member: status (suspend, reinstate, revoke), credentials (issue, rotate, revoke), contribution counts,
/// its sharing groups and its probation (groups are managed with the SharingGroups RPCs, held contributions
/// with the Probation RPCs).
/// A new secret is shown once, on the response to the action that made it.
/// </summary>
internal sealed class DetailModel(MemberAdministration admin, HubDbContext db, TimeProvider time) : ConsolePageModel
{
    private const int MaxReason = 2000;

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = string.Empty;

    [BindProperty]
    public string? Reason { get; set; }

    [BindProperty]
    public string? ClientId { get; set; }

    [BindProperty]
    public int GraceHours { get; set; } = 24;

    [BindProperty]
    public bool ReadOnly { get; set; }

    public MemberOverview Overview { get; private set; } = null!;

    public DateTimeOffset Now { get; private set; }

    /// <summary>Contributions of the member held for review (on probation).</summary>
    public int HeldCount { get; private set; }

    /// <summary>Set once, on the response to issuing or rotating a credential.</summary>
    public IssuedCredential? Issued { get; private set; }

    public Task<IActionResult> OnGetAsync() =>
        RunAsync(async () =>
        {
            await OnReloadAsync();
            return Page();
        });

    public Task<IActionResult> OnPostSuspendAsync(CancellationToken cancellationToken) => SetStatusAsync(MemberStatus.Suspended, "suspended", cancellationToken);

    public Task<IActionResult> OnPostReinstateAsync(CancellationToken cancellationToken) => SetStatusAsync(MemberStatus.Active, "reinstated", cancellationToken);

    public Task<IActionResult> OnPostRevokeAsync(CancellationToken cancellationToken) => SetStatusAsync(MemberStatus.Revoked, "revoked", cancellationToken);

    public Task<IActionResult> OnPostIssueCredentialAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            Issued = await admin.IssueCredentialAsync(Id, ReadOnly ? [HubScopes.Read] : HubScopes.All, cancellationToken);
            await OnReloadAsync();
            return Page();
        });

    public Task<IActionResult> OnPostRotateCredentialAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            if (GraceHours is < 0 or > 720)
            {
                throw new RequestValidationException("grace_period", "must be between 0 and 720 hours (30 days)");
            }
            await EnsureOwnCredentialAsync(cancellationToken);
            Issued = await admin.RotateCredentialAsync(ClientId!, TimeSpan.FromHours(GraceHours), cancellationToken);
            await OnReloadAsync();
            return Page();
        });

    public Task<IActionResult> OnPostRevokeCredentialAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            CheckReason(required: false);
            await EnsureOwnCredentialAsync(cancellationToken);
            await admin.RevokeCredentialAsync(ClientId!, Reason ?? string.Empty, cancellationToken);
            Flash = $"Credential {ClientId} revoked: its tokens stop working on their next call.";
            return RedirectToPage(new { Id });
        });

    protected override async Task OnReloadAsync()
    {
        Now = time.GetUtcNow();
        Overview = (await admin.ListAsync(Id, HttpContext.RequestAborted)).SingleOrDefault()
            ?? throw new NotFoundException($"No member {Id}.");
        HeldCount = await db.Contributions.CountAsync(
            c => c.MemberId == Id && c.Visibility == ContributionVisibility.Held && c.Status == ContributionStatus.Active, HttpContext.RequestAborted);
    }

    private Task<IActionResult> SetStatusAsync(MemberStatus status, string done, CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            CheckReason(required: true);
            await admin.SetStatusAsync(Id, status, Reason!, cancellationToken);
            Flash = $"Member {done}. This takes hold on the member's next call.";
            return RedirectToPage(new { Id });
        });

    private void CheckReason(bool required)
    {
        if ((required && string.IsNullOrWhiteSpace(Reason)) || Reason?.Length > MaxReason)
        {
            throw new RequestValidationException("reason", $"is required (at most {MaxReason:N0} characters): it goes into the audit log");
        }
    }

    /// <summary>The forms name a credential; it must be this member's, so a tampered form cannot touch another's.</summary>
    private async Task EnsureOwnCredentialAsync(CancellationToken cancellationToken)
    {
        var own = (await admin.ListAsync(Id, cancellationToken)).SingleOrDefault()?.Credentials.Any(c => c.Client.ClientId == ClientId) ?? false;
        if (!own)
        {
            throw new NotFoundException($"No credential {ClientId} of member {Id}.");
        }
    }
}
