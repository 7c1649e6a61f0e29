using Microsoft.AspNetCore.Identity;

// The folder is Console/, the namespace AdminConsole: a namespace named Console under HashHub.Server would hide
// System.Console from every file in HashHub.Server.*.
namespace HashHub.Server.AdminConsole;

/// <summary>A person who signs in to the admin console: always a consortium admin, always with a second factor.</summary>
public sealed class ConsoleUser : IdentityUser
{
    public DateTimeOffset CreatedAt { get; set; }
}
