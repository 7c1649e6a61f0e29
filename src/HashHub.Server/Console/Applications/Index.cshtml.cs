using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Mvc;

namespace HashHub.Server.AdminConsole.Pages.Applications;

/// <summary>The application queue: pending first, then the decided ones, newest first.</summary>
internal sealed class IndexModel(MembershipApplications applications) : ConsolePageModel
{
    [BindProperty(SupportsGet = true)]
    public ApplicationStatus? Status { get; set; }

    public IReadOnlyList<MembershipApplicationEntity> Applications { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken) =>
        Applications = await applications.ListAsync(Status, cancellationToken);
}
