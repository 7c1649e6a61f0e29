using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>Signs out (POST only, with the anti-forgery token, so no link elsewhere can sign an admin out).</summary>
[Authorize(Policy = ConsolePolicies.Enrolling)]
internal sealed class SignOutModel(SignInManager<ConsoleUser> signIn, ConsoleUsers consoleUsers) : PageModel
{
    public IActionResult OnGet() => RedirectToPage("/Console/Index");

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        var email = User.Identity?.Name;
        await signIn.SignOutAsync();
        if (email is not null)
        {
            await consoleUsers.RecordAsync(email, "console.sign_out", new { }, cancellationToken);
        }
        return RedirectToPage("/Console/SignIn");
    }
}
