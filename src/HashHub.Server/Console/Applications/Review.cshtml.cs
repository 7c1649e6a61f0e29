using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Mvc;

namespace HashHub.Server.AdminConsole.Pages.Applications;

/// <summary>
/// One application: the organisation, its answers to every membership criterion, the reviewers' notes, and the
/// decision. Approval shows the new member's first credential once; the hub keeps only a hash of the secret.
/// </summary>
internal sealed class ReviewModel(MembershipApplications applications) : ConsolePageModel
{
    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["notes"] = nameof(Notes),
        ["rejection_reason"] = nameof(RejectionReason),
    };

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = string.Empty;

    [BindProperty]
    public string? Notes { get; set; }

    [BindProperty]
    public string? RejectionReason { get; set; }

    public MembershipApplicationEntity Application { get; private set; } = null!;

    /// <summary>Set once, on the response to the approval.</summary>
    public IssuedCredential? Issued { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken) =>
        await RunAsync(async () =>
        {
            await OnReloadAsync();
            Notes = Application.Notes;
            return Page();
        });

    public Task<IActionResult> OnPostNotesAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await applications.RecordNotesAsync(Id, Notes ?? string.Empty, cancellationToken);
            Flash = "Notes saved.";
            return RedirectToPage(new { Id });
        }, Fields);

    public Task<IActionResult> OnPostApproveAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var decision = await applications.DecideAsync(Id, approve: true, Notes, rejectionReason: null, cancellationToken);
            Application = decision.Application;
            Issued = decision.Credential;
            // Rendered, not redirected: the secret must not travel in a URL or survive in TempData.
            return Page();
        }, Fields);

    public Task<IActionResult> OnPostRejectAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            await applications.DecideAsync(Id, approve: false, Notes, RejectionReason, cancellationToken);
            Flash = "Application rejected; the reason is recorded.";
            return RedirectToPage(new { Id });
        }, Fields);

    protected override async Task OnReloadAsync() =>
        Application = await applications.GetAsync(Id, HttpContext.RequestAborted);
}
