using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>Second step: the six-digit code of the authenticator app (RFC 6238), or a recovery code.</summary>
[AllowAnonymous]
internal sealed class TwoFactorModel(SignInManager<ConsoleUser> signIn, ConsoleUsers consoleUsers) : PageModel
{
    [BindProperty, Required]
    public string Code { get; set; } = string.Empty;

    [BindProperty]
    public bool UseRecoveryCode { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; set; }

    public async Task<IActionResult> OnGetAsync() =>
        await signIn.GetTwoFactorAuthenticationUserAsync() is null ? RedirectToPage("/Console/SignIn") : Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        var user = await signIn.GetTwoFactorAuthenticationUserAsync();
        if (user is null)
        {
            // The password step's short-lived cookie expired or was never there.
            return RedirectToPage("/Console/SignIn");
        }
        if (!ModelState.IsValid)
        {
            return Page();
        }
        // Both count a wrong code as a failed attempt towards the lockout. Recovery codes are stored with their dash
        // (XXXXX-XXXXX); authenticator codes are digits, which some apps show in groups.
        var code = Code.Replace(" ", string.Empty, StringComparison.Ordinal);
        var result = UseRecoveryCode
            ? await signIn.TwoFactorRecoveryCodeSignInAsync(code)
            : await signIn.TwoFactorAuthenticatorSignInAsync(code.Replace("-", string.Empty, StringComparison.Ordinal), isPersistent: false, rememberClient: false);
        if (result.Succeeded)
        {
            await consoleUsers.RecordAsync(user.Email!, "console.sign_in", new { SecondFactor = UseRecoveryCode ? "recovery code" : "authenticator" }, cancellationToken);
            return Url.IsLocalUrl(ReturnUrl) && ReturnUrl.StartsWith(ConsoleExtensions.PathPrefix, StringComparison.OrdinalIgnoreCase)
                ? LocalRedirect(ReturnUrl)
                : RedirectToPage("/Console/Index");
        }
        if (result.IsLockedOut)
        {
            await consoleUsers.RecordAsync(user.Email!, "console.locked_out", new { Step = "second factor" }, cancellationToken);
            Error = "This account is locked after too many failed attempts. Try again in 15 minutes.";
            return Page();
        }
        Error = UseRecoveryCode ? "That recovery code is not valid (each works once)." : "Wrong code. Enter the six digits your authenticator app shows now.";
        return Page();
    }
}
