using Microsoft.EntityFrameworkCore;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;

namespace HashHub.Server.Membership;

/// <summary>
/// Server commands an operator runs on the hub's machine, against the hub's configured database:
/// <c>admin bootstrap [NAME]</c> creates the admin organisation and its first credential;
/// <c>admin add-member NAME [--read-only] [--no-probation]</c> registers a member (on probation per Hub:Probation
/// unless told not to) and prints its client credentials;
/// <c>admin add-user EMAIL</c> creates an admin console user and prints its generated password;
/// <c>admin verify-audit</c> recomputes the audit log's hash chain; <c>admin export-audit [FILE]</c> writes it as
/// JSON lines that anyone can verify with the recipe in <c>audit.proto</c>.
/// Secrets are printed once and never stored in clear.
/// </summary>
internal static class AdminCommands
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "admin";

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output)
    {
        var ct = CancellationToken.None;
        await services.GetRequiredService<HubStorageInitializer>().InitializeAsync(ct);
        await using var scope = services.CreateAsyncScope();
        var admin = scope.ServiceProvider.GetRequiredService<MemberAdministration>();
        if (args.Skip(1).FirstOrDefault() == "export-audit")
        {
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            var target = args.Length > 2 && !args[2].StartsWith("--", StringComparison.Ordinal) ? File.CreateText(args[2]) : output;
            var count = 0;
            await foreach (var e in db.AuditLog.AsNoTracking().OrderBy(e => e.Seq).AsAsyncEnumerable())
            {
                await target.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(new AuditExportLine(
                    e.Seq, e.At, e.ActorId, e.ClientId, e.Action, e.Target, e.Details,
                    Convert.ToHexStringLower(e.PreviousHash), Convert.ToHexStringLower(e.Hash)), AuditExportLine.Json));
                count++;
            }
            if (target != output)
            {
                await target.DisposeAsync();
                await output.WriteLineAsync($"exported {count} audit entries to {args[2]}");
            }
            return 0;
        }
        if (args.Skip(1).FirstOrDefault() == "verify-audit")
        {
            var result = await Audit.AuditChain.VerifyAsync(scope.ServiceProvider.GetRequiredService<HubDbContext>(), ct);
            await output.WriteLineAsync(result.Intact
                ? $"audit log intact: {result.EntriesChecked} entries, head hash {Convert.ToHexStringLower(result.HeadHash)}"
                : $"audit log BROKEN at entry {result.FirstBrokenSeq}: {result.Reason} ({result.EntriesChecked} entries verified before it)");
            return result.Intact ? 0 : 1;
        }
        if (args.Skip(1).FirstOrDefault() == "add-user" && args.Length > 2)
        {
            try
            {
                var password = await scope.ServiceProvider.GetRequiredService<AdminConsole.ConsoleUsers>().CreateAsync(args[2], ct);
                await output.WriteLineAsync($"email:    {args[2].Trim()}");
                await output.WriteLineAsync($"password: {password}");
                await output.WriteLineAsync("The password is shown once. On the first sign-in at /console the user sets up an authenticator app (TOTP).");
                return 0;
            }
            catch (RequestValidationException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
        }
        try
        {
            IssuedCredential credential;
            switch (args.Skip(1).FirstOrDefault())
            {
                case "bootstrap":
                    credential = await admin.BootstrapAdminAsync(args.Length > 2 ? args[2] : "Consortium admins", ct);
                    break;
                case "add-member" when args.Length > 2:
                    var scopes = args.Contains("--read-only") ? new[] { HubScopes.Read } : HubScopes.All;
                    credential = await admin.AddMemberAsync(args[2], isAdmin: false, scopes, ct, skipProbation: args.Contains("--no-probation"));
                    break;
                default:
                    await output.WriteLineAsync("""
                        usage:
                          HashHub.Server admin bootstrap [NAME]             create the admin organisation and its first credential
                          HashHub.Server admin add-member NAME [--read-only] [--no-probation]
                                                                            register a member and issue its client credentials;
                                                                            it starts on probation per Hub:Probation unless --no-probation
                          HashHub.Server admin add-user EMAIL               create an admin console user (prints a password once)
                          HashHub.Server admin verify-audit                 recompute the audit log's hash chain (exit 1 if broken)
                          HashHub.Server admin export-audit [FILE]          write the audit log as JSON lines (to stdout without FILE)
                        example:
                          dotnet run --project src/HashHub.Server -- admin add-member "Example Video Platform"
                        """);
                    return 2;
            }
            await output.WriteLineAsync($"member_id:     {credential.MemberId}");
            await output.WriteLineAsync($"member_name:   {credential.MemberName}");
            await output.WriteLineAsync($"client_id:     {credential.ClientId}");
            await output.WriteLineAsync($"client_secret: {credential.ClientSecret}");
            await output.WriteLineAsync("The secret is shown once: store it now. The hub keeps only a hash of it.");
            return 0;
        }
        catch (Exception ex) when (ex is RequestValidationException or PreconditionFailedException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
    }
}

/// <summary>One line of <c>admin export-audit</c>: the entry's fields, hashes in hex.</summary>
internal sealed record AuditExportLine(long Seq, DateTimeOffset At, string ActorId, string ClientId, string Action, string Target, string Details, string PreviousHash, string Hash)
{
    public static readonly System.Text.Json.JsonSerializerOptions Json = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };
}
