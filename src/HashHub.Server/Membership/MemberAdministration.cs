using System.Security.Cryptography;
using HashHub.Server.Audit;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace HashHub.Server.Membership;

/// <summary>A new machine credential. The secret exists only here: the hub keeps a hash of it.</summary>
public sealed record IssuedCredential(string MemberId, string MemberName, string ClientId, string ClientSecret);

/// <summary>A member's credential, the scopes it holds and how it authenticates (client_secret or private_key_jwt).</summary>
internal sealed record CredentialOverview(MemberClient Client, IReadOnlyList<string> Scopes, string AuthenticationMethod);

/// <summary>
/// A member as admins see it: its credentials, its sharing groups (by name) and how many contributions it made
/// (and how many stand). The Members RPCs and the console both list members through it.
/// </summary>
internal sealed record MemberOverview(
    Member Member, IReadOnlyList<CredentialOverview> Credentials, IReadOnlyList<SharingGroupEntity> Groups, long ContributionCount, long ActiveContributionCount);

/// <summary>
/// Creates members and their OAuth2 client credentials, and changes their status. Shared by the Members RPCs,
/// the vetting workflow, the admin console and the server commands; each sets <see cref="Actor"/> first.
/// </summary>
internal sealed class MemberAdministration(
    HubDbContext db, ChangeLog changeLog, MemberDirectory directory, IOpenIddictApplicationManager applications, TimeProvider time, IOptions<HubOptions> options)
{
    /// <summary>Creates the consortium's admin organisation and its first admin credential; fails if one exists.</summary>
    public async Task<IssuedCredential> BootstrapAdminAsync(string name, CancellationToken cancellationToken)
    {
        if (await db.Members.AnyAsync(m => m.IsAdmin, cancellationToken))
        {
            throw new PreconditionFailedException("An admin member already exists; issue further credentials from it.");
        }
        return await AddMemberAsync(name, isAdmin: true, HubScopes.All, cancellationToken);
    }

    /// <summary>Who the audit log names for these actions: the operator at the hub's console unless set.</summary>
    public (string ActorId, string ClientId) Actor { get; set; } = (AuditChain.OperatorActor, string.Empty);

    /// <summary>
    /// Creates an active member with one client credential holding <paramref name="scopes"/>; on probation per
    /// <see cref="HubOptions.Probation"/> unless it is an admin or <paramref name="skipProbation"/>.
    /// </summary>
    public async Task<IssuedCredential> AddMemberAsync(string name, bool isAdmin, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken, bool skipProbation = false)
    {
        name = name.Trim();
        if (name.Length is 0 or > 200)
        {
            throw new RequestValidationException("name", "is required, at most 200 characters");
        }
        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            // Checked inside the transaction: when two admins race, the retry after the loser's unique-key
            // violation sees the winner's member and answers with this message.
            if (await db.Members.AnyAsync(m => m.Name == name, ct))
            {
                throw new RequestValidationException("name", $"a member named '{name}' already exists");
            }
            return await AddMemberAsync(batch, name, isAdmin, scopes, ct, skipProbation);
        }, cancellationToken);
    }

    /// <summary>Creates the member and its first credential inside a write transaction that is already open.</summary>
    internal async Task<IssuedCredential> AddMemberAsync(WriteBatch batch, string name, bool isAdmin, IReadOnlyCollection<string> scopes, CancellationToken ct, bool skipProbation = false)
    {
        var member = new Member
        {
            Id = "mbr_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Name = name,
            Status = MemberStatus.Active,
            IsAdmin = isAdmin,
            CreatedAt = time.GetUtcNow(),
            OnProbation = !isAdmin && !skipProbation && options.Value.Probation != ProbationMode.Off,
        };
        db.Members.Add(member);
        await db.SaveChangesAsync(ct);
        batch.Audit(new AuditRecord(Actor.ActorId, Actor.ClientId, "member.add", member.Id, new { member.Name, member.IsAdmin, member.OnProbation }));
        return await IssueAsync(batch, member, scopes, ct);
    }

    /// <summary>Issues another client credential to an existing member: a secret, or a key client with <paramref name="publicKey"/>.</summary>
    public Task<IssuedCredential> IssueCredentialAsync(Member member, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken, JsonWebKey? publicKey = null) =>
        changeLog.WriteAsync(db, (batch, ct) => IssueAsync(batch, member, scopes, ct, publicKey), cancellationToken);

    private async Task<IssuedCredential> IssueAsync(WriteBatch batch, Member member, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken, JsonWebKey? publicKey = null)
    {
        var clientId = "hh_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        // A key client (private_key_jwt, RFC 7523) has no secret: OpenIddict checks its client assertions against
        // the public key in the application's JSON Web Key Set.
        var secret = publicKey is null ? Base64Url(RandomNumberGenerator.GetBytes(32)) : string.Empty;
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = publicKey is null ? secret : null,
            ClientType = ClientTypes.Confidential,
            DisplayName = member.Name,
            Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials },
        };
        if (publicKey is not null)
        {
            descriptor.JsonWebKeySet = new JsonWebKeySet { Keys = { publicKey } };
        }
        foreach (var scope in scopes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }
        await applications.CreateAsync(descriptor, cancellationToken);
        db.MemberClients.Add(new MemberClient { ClientId = clientId, MemberId = member.Id, CreatedAt = time.GetUtcNow() });
        await db.SaveChangesAsync(cancellationToken);
        // The secret itself is never logged, nor kept: only the fact that a credential was issued.
        batch.Audit(new AuditRecord(Actor.ActorId, Actor.ClientId, "credential.issue", clientId, new
        {
            MemberId = member.Id,
            Scopes = scopes,
            Method = publicKey is null ? ClientKeys.SecretMethod : ClientKeys.PrivateKeyJwtMethod,
            // The key's thumbprint (RFC 7638) names the public key the client was registered with.
            KeyThumbprint = publicKey is null ? null : Base64Url(publicKey.ComputeJwkThumbprint()),
        }));
        return new IssuedCredential(member.Id, member.Name, clientId, secret);
    }

    /// <summary>
    /// Suspends (Active to Suspended), reinstates (Suspended to Active) or revokes (either to Revoked, final) a
    /// member. Access is checked on every call, so the change takes hold at once.
    /// </summary>
    public async Task<Member> SetStatusAsync(string memberId, MemberStatus status, string reason, CancellationToken cancellationToken)
    {
        var member = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var member = await db.Members.SingleOrDefaultAsync(m => m.Id == memberId, ct)
                ?? throw new NotFoundException($"No member {memberId}.");
            if (member.Id == Actor.ActorId)
            {
                throw new PreconditionFailedException("An admin cannot change the status of its own organisation; ask another admin organisation.");
            }
            var allowed = (member.Status, status) switch
            {
                (MemberStatus.Active, MemberStatus.Suspended) => true,
                (MemberStatus.Suspended, MemberStatus.Active) => true,
                (MemberStatus.Active or MemberStatus.Suspended, MemberStatus.Revoked) => true,
                _ => false,
            };
            if (!allowed)
            {
                throw new PreconditionFailedException($"A member that is {Describe(member.Status)} cannot become {Describe(status)}.");
            }
            var from = member.Status;
            member.Status = status;
            batch.Audit(new AuditRecord(Actor.ActorId, Actor.ClientId, "member.status", member.Id, new { From = Describe(from), To = Describe(status), Reason = reason }));
            return member;
        }, cancellationToken);
        directory.Invalidate(member.Id);
        return member;
    }

    /// <summary>Issues another credential to an active member: a secret, or a key client with <paramref name="publicKey"/>.</summary>
    public async Task<IssuedCredential> IssueCredentialAsync(string memberId, IReadOnlyCollection<string> scopes, CancellationToken cancellationToken, JsonWebKey? publicKey = null)
    {
        var member = await db.Members.AsNoTracking().SingleOrDefaultAsync(m => m.Id == memberId, cancellationToken)
            ?? throw new NotFoundException($"No member {memberId}.");
        if (member.Status != MemberStatus.Active)
        {
            throw new PreconditionFailedException($"The member is {Describe(member.Status)}: credentials are issued to active members only.");
        }
        return await IssueCredentialAsync(member, scopes, cancellationToken, publicKey);
    }

    /// <summary>Revokes one credential; its tokens stop working at once (checked on every call).</summary>
    public Task<MemberClient> RevokeCredentialAsync(string clientId, string reason, CancellationToken cancellationToken) =>
        changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var client = await db.MemberClients.SingleOrDefaultAsync(c => c.ClientId == clientId, ct)
                ?? throw new NotFoundException($"No credential {clientId}.");
            var now = time.GetUtcNow();
            if (client.RevokedAt is null || client.RevokedAt > now)
            {
                client.RevokedAt = now;
                batch.Audit(new AuditRecord(Actor.ActorId, Actor.ClientId, "credential.revoke", clientId, new { client.MemberId, Reason = reason }));
            }
            return client;
        }, cancellationToken);

    /// <summary>
    /// Issues a new credential with the old one's scopes; the old one stops working after <paramref name="grace"/>.
    /// </summary>
    public Task<IssuedCredential> RotateCredentialAsync(string clientId, TimeSpan grace, CancellationToken cancellationToken, JsonWebKey? newPublicKey = null) =>
        changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var now = time.GetUtcNow();
            var old = await db.MemberClients.Include(c => c.Member).SingleOrDefaultAsync(c => c.ClientId == clientId, ct)
                ?? throw new NotFoundException($"No credential {clientId}.");
            if (old.RevokedAt is { } revoked && revoked <= now)
            {
                throw new PreconditionFailedException($"Credential {clientId} is revoked; issue a new one instead.");
            }
            if (old.Member!.Status != MemberStatus.Active)
            {
                throw new PreconditionFailedException($"The member is {Describe(old.Member.Status)}: credentials are issued to active members only.");
            }
            var application = await applications.FindByClientIdAsync(clientId, ct);
            var scopes = application is null ? HubScopes.All : (await applications.GetPermissionsAsync(application, ct))
                .Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                .Select(p => p[Permissions.Prefixes.Scope.Length..]).ToArray();
            // A key client rotates to a new key, a secret client to a new secret: the method does not change.
            var isKeyClient = application is not null && await applications.GetJsonWebKeySetAsync(application, ct) is { Keys.Count: > 0 };
            if (isKeyClient != newPublicKey is not null)
            {
                throw new RequestValidationException("public_key", isKeyClient
                    ? "is required: credential " + clientId + " is a key client; give the new public key"
                    : "is only for key clients: credential " + clientId + " uses a secret");
            }
            var until = now + grace;
            old.RevokedAt = old.RevokedAt is { } earlier && earlier < until ? earlier : until;
            batch.Audit(new AuditRecord(Actor.ActorId, Actor.ClientId, "credential.rotate", clientId, new { old.MemberId, OldWorksUntil = old.RevokedAt }));
            return await IssueAsync(batch, old.Member, scopes, ct, newPublicKey);
        }, cancellationToken);

    /// <summary>Every member (or the one named), oldest first, with its credentials and contribution counts.</summary>
    public async Task<IReadOnlyList<MemberOverview>> ListAsync(string? memberId, CancellationToken cancellationToken)
    {
        var members = db.Members.AsNoTracking();
        var clients = db.MemberClients.AsNoTracking();
        var contributions = db.Contributions.AsNoTracking();
        var groups =
            from gm in db.SharingGroupMembers.AsNoTracking()
            join g in db.SharingGroups.AsNoTracking() on gm.GroupId equals g.Id
            select new { gm.MemberId, Group = g };
        if (memberId is not null)
        {
            members = members.Where(m => m.Id == memberId);
            clients = clients.Where(c => c.MemberId == memberId);
            contributions = contributions.Where(c => c.MemberId == memberId);
            groups = groups.Where(g => g.MemberId == memberId);
        }
        var list = (await members.ToListAsync(cancellationToken)).OrderBy(m => m.CreatedAt).ThenBy(m => m.Name, StringComparer.Ordinal).ToList();
        var byMember = (await clients.ToListAsync(cancellationToken)).OrderBy(c => c.CreatedAt).ToLookup(c => c.MemberId);
        var groupsOf = (await groups.ToListAsync(cancellationToken)).OrderBy(g => g.Group.Name, StringComparer.Ordinal).ToLookup(g => g.MemberId, g => g.Group);
        var counts = await contributions.GroupBy(c => new { c.MemberId, c.Status })
            .Select(g => new { g.Key.MemberId, g.Key.Status, Count = g.LongCount() }).ToListAsync(cancellationToken);
        var result = new List<MemberOverview>(list.Count);
        foreach (var m in list)
        {
            var credentials = new List<CredentialOverview>();
            foreach (var c in byMember[m.Id])
            {
                credentials.Add(await DescribeAsync(c, cancellationToken));
            }
            var own = counts.Where(c => c.MemberId == m.Id).ToList();
            result.Add(new MemberOverview(m, credentials, [.. groupsOf[m.Id]], own.Sum(c => c.Count), own.Where(c => c.Status == ContributionStatus.Active).Sum(c => c.Count)));
        }
        return result;
    }

    /// <summary>A credential with its scopes and authentication method, as OpenIddict holds them (none when it does not know the client).</summary>
    public async Task<CredentialOverview> DescribeAsync(MemberClient client, CancellationToken cancellationToken)
    {
        var application = await applications.FindByClientIdAsync(client.ClientId, cancellationToken);
        if (application is null)
        {
            return new CredentialOverview(client, [], string.Empty);
        }
        var scopes = (await applications.GetPermissionsAsync(application, cancellationToken))
            .Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
            .Select(p => p[Permissions.Prefixes.Scope.Length..]).ToArray();
        var method = await applications.GetJsonWebKeySetAsync(application, cancellationToken) is { Keys.Count: > 0 } ? ClientKeys.PrivateKeyJwtMethod : ClientKeys.SecretMethod;
        return new CredentialOverview(client, scopes, method);
    }

    internal static string Describe(MemberStatus status) => status.ToString().ToLowerInvariant();

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
