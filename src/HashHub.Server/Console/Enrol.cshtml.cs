using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>
/// On the first sign-in (password only), the user adds the hub to an authenticator app and proves it with a
/// code; from then on every sign-in needs the code. Nothing else in the console opens before that.
/// </summary>
[Authorize(Policy = ConsolePolicies.Enrolling)]
internal sealed class EnrolModel(UserManager<ConsoleUser> users, SignInManager<ConsoleUser> signIn, ConsoleUsers consoleUsers) : PageModel
{
    [BindProperty, Required]
    public string Code { get; set; } = string.Empty;

    /// <summary>The shared key in base32 (RFC 4648), as the user types it into the app.</summary>
    public string SharedKey { get; private set; } = string.Empty;

    public string AuthenticatorUri { get; private set; } = string.Empty;

    /// <summary>Shown once, right after enrolment.</summary>
    public IReadOnlyList<string>? RecoveryCodes { get; private set; }

    public string? Error { get; set; }

    public async Task<IActionResult> OnGetAsync()
    {
        var user = await users.GetUserAsync(User);
        if (user is null)
        {
            return RedirectToPage("/Console/SignIn");
        }
        if (user.TwoFactorEnabled)
        {
            return RedirectToPage("/Console/Index");
        }
        await LoadKeyAsync(user);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        var user = await users.GetUserAsync(User);
        if (user is null)
        {
            return RedirectToPage("/Console/SignIn");
        }
        if (user.TwoFactorEnabled)
        {
            return RedirectToPage("/Console/Index");
        }
        var code = Code.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
        var recovery = ModelState.IsValid ? await consoleUsers.EnrolAsync(user, code, cancellationToken) : null;
        if (recovery is null)
        {
            Error = "That code does not match. Check the app's clock and enter the code it shows now.";
            await LoadKeyAsync(user);
            return Page();
        }
        // A fresh cookie that says the second factor is done (enabling it changed the user's security stamp).
        await signIn.SignInWithClaimsAsync(user, isPersistent: false, [new Claim(ConsolePolicies.MultiFactorClaim, ConsolePolicies.MultiFactorValue)]);
        RecoveryCodes = recovery;
        return Page();
    }

    private async Task LoadKeyAsync(ConsoleUser user)
    {
        var key = await users.GetAuthenticatorKeyAsync(user);
        if (string.IsNullOrEmpty(key))
        {
            await users.ResetAuthenticatorKeyAsync(user);
            key = await users.GetAuthenticatorKeyAsync(user);
        }
        SharedKey = key!;
        AuthenticatorUri = ConsoleUsers.AuthenticatorUri(user.Email!, SharedKey);
    }
}
