using HashHub.Server.Storage;
using HashHub.Server.Taxonomy;
using Microsoft.AspNetCore.Mvc;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>The label taxonomy: every label by category, and a form to add one.</summary>
internal sealed class LabelsModel(LabelCatalog catalog) : ConsolePageModel
{
    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["key"] = nameof(Name),
        ["display_name"] = nameof(DisplayName),
        ["description"] = nameof(Description),
    };

    [BindProperty]
    public string Category { get; set; } = "behavior";

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? DisplayName { get; set; }

    [BindProperty]
    public string? Description { get; set; }

    public IReadOnlyList<LabelEntity> Labels { get; private set; } = [];

    public Task OnGetAsync() => OnReloadAsync();

    public Task<IActionResult> OnPostAsync(CancellationToken cancellationToken) =>
        RunAsync(async () =>
        {
            var (actor, client) = ConsoleUsers.ActorOf(User);
            var label = await catalog.AddAsync($"{Category}:{Name}", DisplayName ?? string.Empty, Description ?? string.Empty, actor, client, cancellationToken);
            Flash = $"Label {label.Key} added.";
            return RedirectToPage();
        }, Fields);

    protected override async Task OnReloadAsync() => Labels = await catalog.ListAsync(HttpContext.RequestAborted);
}
