using System.Security.Claims;
using System.Security.Cryptography;
using HashHub.Server.Audit;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.AspNetCore.Identity;

namespace HashHub.Server.AdminConsole;

/// <summary>Authorization policies of the console. Both authenticate with the console cookie only, never a bearer token.</summary>
public static class ConsolePolicies
{
    /// <summary>Signed in with password and second factor: every console page but sign-in, enrolment and apply.</summary>
    public const string Admin = "console.admin";

    /// <summary>Signed in with the password only: enough to enrol the authenticator app, nothing else.</summary>
    public const string Enrolling = "console.enrolling";

    /// <summary>The <c>amr</c> claim (RFC 8176) that Identity's sign-in manager sets after a second factor.</summary>
    public const string MultiFactorClaim = "amr";
    public const string MultiFactorValue = "mfa";
}

/// <summary>
/// Console users and the audit records of what they do. A console user is named in the audit log as
/// <c>console:EMAIL</c> with client <c>console</c>, so an entry says which person acted through which door.
/// </summary>
internal sealed class ConsoleUsers(UserManager<ConsoleUser> users, HubDbContext db, ChangeLog changeLog, TimeProvider time)
{
    public const string Client = "console";
    private const string PasswordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    public static string ActorOf(string email) => "console:" + email;

    /// <summary>The audit actor of the signed-in console user.</summary>
    public static (string ActorId, string ClientId) ActorOf(ClaimsPrincipal user) =>
        (ActorOf(user.FindFirstValue(ClaimTypes.Email) ?? user.Identity?.Name ?? throw new InvalidOperationException("No console user is signed in.")), Client);

    /// <summary>Creates a console user with a generated password (returned once); audited in the operator's name.</summary>
    public async Task<string> CreateAsync(string email, CancellationToken cancellationToken)
    {
        email = email.Trim();
        if (email.Length is 0 or > 256 || email.IndexOf('@', StringComparison.Ordinal) is < 1 || email.EndsWith('@'))
        {
            throw new RequestValidationException("email", "must be an e-mail address");
        }
        var password = GeneratePassword();
        await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var user = new ConsoleUser { UserName = email, Email = email, EmailConfirmed = true, LockoutEnabled = true, CreatedAt = time.GetUtcNow() };
            var result = await users.CreateAsync(user, password);
            if (!result.Succeeded)
            {
                throw new RequestValidationException("email", string.Join(" ", result.Errors.Select(e => e.Description)));
            }
            batch.Audit(new AuditRecord(AuditChain.OperatorActor, string.Empty, "console.user_add", ActorOf(email), new { Email = email }));
            return user;
        }, cancellationToken);
        return password;
    }

    /// <summary>
    /// Turns on the second factor if <paramref name="code"/> is the authenticator's current code for the user's key,
    /// and returns ten new recovery codes (shown once); null if the code is wrong. Audited with the change.
    /// </summary>
    public Task<IReadOnlyList<string>?> EnrolAsync(ConsoleUser user, string code, CancellationToken cancellationToken) =>
        changeLog.WriteAsync(db, async (batch, ct) =>
        {
            if (!await users.VerifyTwoFactorTokenAsync(user, users.Options.Tokens.AuthenticatorTokenProvider, code))
            {
                return null;
            }
            await users.SetTwoFactorEnabledAsync(user, true);
            var recovery = (await users.GenerateNewTwoFactorRecoveryCodesAsync(user, 10))?.ToList() ?? [];
            batch.Audit(new AuditRecord(ActorOf(user.Email!), Client, "console.totp_enrol", ActorOf(user.Email!), new { RecoveryCodes = recovery.Count }));
            return (IReadOnlyList<string>?)recovery;
        }, cancellationToken);

    /// <summary>The <c>otpauth://</c> URI an authenticator app reads (Key Uri Format: issuer, account, base32 secret).</summary>
    public static string AuthenticatorUri(string email, string key) =>
        $"otpauth://totp/{Uri.EscapeDataString("HashHub:" + email)}?secret={key}&issuer=HashHub&digits=6&period=30";

    /// <summary>Appends one audit entry on its own (sign-in, enrolment: events with no other write).</summary>
    public Task RecordAsync(string email, string action, object details, CancellationToken cancellationToken) =>
        changeLog.WriteAsync(db, (batch, _) =>
        {
            batch.Audit(new AuditRecord(ActorOf(email), Client, action, ActorOf(email), details));
            return Task.FromResult(true);
        }, cancellationToken);

    /// <summary>24 characters from 56 unambiguous ones (about 139 bits), with upper, lower and digit as Identity asks.</summary>
    internal static string GeneratePassword()
    {
        while (true)
        {
            var password = RandomNumberGenerator.GetString(PasswordAlphabet, 24);
            if (password.Any(char.IsUpper) && password.Any(char.IsLower) && password.Any(char.IsDigit))
            {
                return password;
            }
        }
    }
}

/// <summary>What the console hands to the domain: the signed-in user as the actor of the admin actions.</summary>
internal static class ConsoleActorExtensions
{
    public static MemberAdministration ActingAs(this MemberAdministration admin, ClaimsPrincipal user)
    {
        admin.Actor = ConsoleUsers.ActorOf(user);
        return admin;
    }
}
