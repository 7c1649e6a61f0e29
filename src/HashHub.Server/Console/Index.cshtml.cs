using Microsoft.AspNetCore.Mvc;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary><c>/console</c>: the queue is where an admin's day starts.</summary>
internal sealed class IndexModel : ConsolePageModel
{
    public IActionResult OnGet() => RedirectToPage("/Console/Applications/Index");
}
