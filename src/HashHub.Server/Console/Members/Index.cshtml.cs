using HashHub.Server.Membership;

namespace HashHub.Server.AdminConsole.Pages.Members;

/// <summary>Every member with its status, credentials and contribution counts.</summary>
internal sealed class IndexModel(MemberAdministration admin) : ConsolePageModel
{
    public IReadOnlyList<MemberOverview> Members { get; private set; } = [];

    public DateTimeOffset Now { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Members = await admin.ListAsync(memberId: null, cancellationToken);
        Now = HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
    }
}
