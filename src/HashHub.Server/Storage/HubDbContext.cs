using HashHub.Server.AdminConsole;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Storage;

/// <summary>
/// The hub's database. One model for every provider; each provider has a derived context only so that it can
/// carry its own migrations (<see cref="SqliteHubDbContext"/>, <see cref="PostgresHubDbContext"/>,
/// <see cref="SqlServerHubDbContext"/>). It also holds the admin console's users (ASP.NET Core Identity, users
/// only: every console user is a consortium admin, so there are no roles).
/// </summary>
public abstract class HubDbContext(DbContextOptions options) : IdentityUserContext<ConsoleUser>(options)
{
    public DbSet<Member> Members => Set<Member>();
    public DbSet<MemberClient> MemberClients => Set<MemberClient>();
    public DbSet<SignalEntity> Signals => Set<SignalEntity>();
    public DbSet<ContributionEntity> Contributions => Set<ContributionEntity>();
    public DbSet<LabelEntity> Labels => Set<LabelEntity>();
    public DbSet<ChangeEntity> Changes => Set<ChangeEntity>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<HubSetting> Settings => Set<HubSetting>();
    public DbSet<AuditEntryEntity> AuditLog => Set<AuditEntryEntity>();
    public DbSet<MembershipApplicationEntity> Applications => Set<MembershipApplicationEntity>();
    public DbSet<SharingGroupEntity> SharingGroups => Set<SharingGroupEntity>();
    public DbSet<SharingGroupMember> SharingGroupMembers => Set<SharingGroupMember>();
    public DbSet<ContributionGroup> ContributionGroups => Set<ContributionGroup>();
    public DbSet<UsedClientAssertion> UsedClientAssertions => Set<UsedClientAssertion>();
    public DbSet<MatchOutcomeEntity> MatchOutcomes => Set<MatchOutcomeEntity>();

    /// <summary>Which database engine this context talks to.</summary>
    public abstract StorageProvider Provider { get; }

    private List<Action>? _afterCommit;
    private List<Action>? _afterAbandon;

    /// <summary>
    /// The sequence numbers of the change-log entries appended in the current transaction, when the bulk writer
    /// saw them drawn as one unbroken run (First to Last, one per entry); null otherwise. Reset when a
    /// transaction starts.
    /// </summary>
    internal (long First, long Last)? AppendedChanges { get; set; }

    /// <summary>
    /// Runs <paramref name="action"/> once the current transaction has committed (<see cref="CommitHooks"/>), and
    /// never if it rolls back. For in-process bookkeeping that must only see committed data: the action must not
    /// throw or touch the database, since the commit is already acknowledged when it runs.
    /// </summary>
    internal void AfterCommit(Action action) => (_afterCommit ??= []).Add(action);

    /// <summary>
    /// Runs <paramref name="action"/> once if the current transaction rolls back or fails instead of committing
    /// (<see cref="CommitHooks"/>, and <see cref="Sync.ChangeLog"/> when a write fails), to undo in-process
    /// bookkeeping announced before the commit. The same rules as for <see cref="AfterCommit"/> apply.
    /// </summary>
    internal void AfterAbandon(Action action) => (_afterAbandon ??= []).Add(action);

    internal void TransactionStarted() => ForgetTransaction();

    private void ForgetTransaction()
    {
        // Left over only by a transaction that ended unseen (neither committed nor reported rolled back).
        TransactionAbandoned();
        AppendedChanges = null;
    }

    internal void TransactionCommitted()
    {
        _afterAbandon?.Clear();
        Run(ref _afterCommit);
    }

    internal void TransactionAbandoned()
    {
        _afterCommit?.Clear();
        Run(ref _afterAbandon);
    }

    // The hub's contexts are pooled: one goes back to the pool with nothing of this transaction's bookkeeping left.

    public override void Dispose()
    {
        ForgetTransaction();
        base.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        ForgetTransaction();
        return base.DisposeAsync();
    }

    private static void Run(ref List<Action>? queued)
    {
        if (queued is not { Count: > 0 } actions)
        {
            return;
        }
        queued = null;
        foreach (var action in actions)
        {
            action();
        }
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        // Named for what they are, like the hub's own tables.
        builder.Entity<ConsoleUser>().ToTable("console_users");
        builder.Entity<Microsoft.AspNetCore.Identity.IdentityUserClaim<string>>().ToTable("console_user_claims");
        builder.Entity<Microsoft.AspNetCore.Identity.IdentityUserLogin<string>>().ToTable("console_user_logins");
        builder.Entity<Microsoft.AspNetCore.Identity.IdentityUserToken<string>>().ToTable("console_user_tokens");
        builder.ApplyConfigurationsFromAssembly(typeof(HubDbContext).Assembly, t => t.Namespace == typeof(HubDbContext).Namespace);
        builder.UseOpenIddict();
    }
}

public sealed class SqliteHubDbContext(DbContextOptions<SqliteHubDbContext> options) : HubDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.Sqlite;

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no DateTimeOffset type; store UTC ticks so that values sort and compare correctly.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetTicksConverter>();
    }
}

public sealed class PostgresHubDbContext(DbContextOptions<PostgresHubDbContext> options) : HubDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.Postgres;

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        // Bytes rather than text: half the size for the hex digests, in the hub's largest index (StoredSignalValue).
        builder.Entity<SignalEntity>().Property(s => s.Value).HasConversion(StoredSignalValue.Converter).HasColumnType("bytea");
        // A batch's stored answer (a result per item) is compressed on every submission: LZ4 costs a fraction of
        // PostgreSQL's default pglz, which was about 1.6% of the server's CPU during ingest (needs PostgreSQL 14+).
        builder.Entity<IdempotencyRecord>().Property(r => r.Response).UseCompressionMethod("lz4");
    }
}

public sealed class SqlServerHubDbContext(DbContextOptions<SqlServerHubDbContext> options) : HubDbContext(options)
{
    public override StorageProvider Provider => StorageProvider.SqlServer;
}

internal sealed class DateTimeOffsetTicksConverter()
    : Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
