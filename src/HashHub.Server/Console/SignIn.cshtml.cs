using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>First step of signing in: e-mail and password. The second factor follows (or its enrolment, the first time).</summary>
[AllowAnonymous]
internal sealed partial class SignInModel(SignInManager<ConsoleUser> signIn, ConsoleUsers consoleUsers, ILogger<SignInModel> logger) : PageModel
{
    [BindProperty, Required, EmailAddress]
    public string Email { get; set; } = string.Empty;

    [BindProperty, Required, DataType(DataType.Password)]
    public string Password { get; set; } = string.Empty;

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public string? Error { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }
        var result = await signIn.PasswordSignInAsync(Email, Password, isPersistent: false, lockoutOnFailure: true);
        if (result.RequiresTwoFactor)
        {
            return RedirectToPage("/Console/TwoFactor", new { ReturnUrl });
        }
        if (result.Succeeded)
        {
            // Only a user without a second factor gets here: the console sends it to enrol one before anything else.
            return RedirectToPage("/Console/Enrol");
        }
        if (result.IsLockedOut)
        {
            LogLockedOut(logger, Email);
            await consoleUsers.RecordAsync(Email, "console.locked_out", new { Step = "password" }, cancellationToken);
            Error = "This account is locked after too many failed attempts. Try again in 15 minutes.";
            return Page();
        }
        LogFailed(logger, Email);
        Error = "Wrong e-mail or password.";
        return Page();
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Warning, Message = "Console sign-in failed for {Email}")]
    private static partial void LogFailed(ILogger logger, string email);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Console account {Email} is locked out")]
    private static partial void LogLockedOut(ILogger logger, string email);
}
