using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace HashHub.Server.Storage;

internal sealed class MemberConfiguration : IEntityTypeConfiguration<Member>
{
    public void Configure(EntityTypeBuilder<Member> b)
    {
        b.ToTable("members");
        b.HasKey(m => m.Id);
        b.Property(m => m.Id).HasMaxLength(40);
        b.Property(m => m.Name).HasMaxLength(200);
        b.HasIndex(m => m.Name).IsUnique();
    }
}

internal sealed class MemberClientConfiguration : IEntityTypeConfiguration<MemberClient>
{
    public void Configure(EntityTypeBuilder<MemberClient> b)
    {
        b.ToTable("member_clients");
        b.HasKey(c => c.ClientId);
        b.Property(c => c.ClientId).HasMaxLength(100);
        b.Property(c => c.MemberId).HasMaxLength(40);
        b.HasOne(c => c.Member).WithMany().HasForeignKey(c => c.MemberId).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class SignalConfiguration : IEntityTypeConfiguration<SignalEntity>
{
    public void Configure(EntityTypeBuilder<SignalEntity> b)
    {
        b.ToTable("signals");
        b.HasKey(s => s.Id);
        b.Property(s => s.Type).HasMaxLength(32);
        // ASCII only (hex, or a normalised URL with its host in punycode); 2,048 is the longest URL accepted.
        b.Property(s => s.Value).HasMaxLength(2048).IsUnicode(false);
        b.HasIndex(s => new { s.Type, s.Value }).IsUnique();
        // Contributions and changes refer to their signal by id without a foreign key. A foreign key costs every
        // inserted contribution and change a lookup and a row lock on its signal (FOR KEY SHARE, which writes the
        // signal's tuple again), about as much as the insert itself at ingest rates; and the reference cannot
        // dangle: signals are never deleted (a retraction keeps the record), and their rows are written in the
        // same transaction as, and before, the rows that refer to them.
        b.Ignore(s => s.Contributions);
    }
}

internal sealed class ContributionConfiguration : IEntityTypeConfiguration<ContributionEntity>
{
    private const char Separator = ',';

    public void Configure(EntityTypeBuilder<ContributionEntity> b)
    {
        b.ToTable("contributions");
        b.HasKey(c => c.Id);
        b.Ignore(c => c.Signal);
        b.Property(c => c.MemberId).HasMaxLength(40);
        b.Property(c => c.IncidentId).HasMaxLength(100);
        b.Property(c => c.CaseReference).HasMaxLength(200);
        b.Property(c => c.Note).HasMaxLength(2000);
        b.Property(c => c.RetractReason).HasMaxLength(2000);
        b.Property(c => c.Labels)
            .HasMaxLength(4000)
            .HasConversion(
                v => string.Join(Separator, v),
                v => v.Length == 0 ? Array.Empty<string>() : v.Split(Separator, StringSplitOptions.None),
                new ValueComparer<string[]>((x, y) => x!.SequenceEqual(y!), v => v.Aggregate(0, (h, s) => HashCode.Combine(h, s.GetHashCode(StringComparison.Ordinal))), v => v.ToArray()));
        b.HasIndex(c => new { c.SignalId, c.MemberId });
        b.HasIndex(c => c.MemberId);
        // Held contributions are listed for review, and snapshots look up the few contributions not shared with all;
        // the index keeps both off the whole table. Partial: contributions shared with every member, nearly all of
        // them, are not in it, so their inserts (bulk ingest) do not pay for it. Queries name the same condition.
        b.HasIndex(c => c.Visibility).HasFilter("\"Visibility\" > 0");
        b.Property(c => c.Visibility).HasDefaultValue(ContributionVisibility.AllMembers);
        b.Ignore(c => c.SharingGroupIds);
        // No foreign key to members: every insert would lock the member's row (FOR KEY SHARE), and a member's
        // parallel bulk writers then contend on that one row (multixacts on PostgreSQL). The member id comes from
        // the access token of an existing member, and members are never deleted (they are revoked), so the
        // reference cannot dangle.
    }
}

internal sealed class LabelConfiguration : IEntityTypeConfiguration<LabelEntity>
{
    public void Configure(EntityTypeBuilder<LabelEntity> b)
    {
        b.ToTable("labels");
        b.HasKey(l => l.Key);
        b.Property(l => l.Key).HasMaxLength(100);
        b.Property(l => l.DisplayName).HasMaxLength(200);
        b.Property(l => l.Description).HasMaxLength(2000);
    }
}

internal sealed class ChangeConfiguration : IEntityTypeConfiguration<ChangeEntity>
{
    public void Configure(EntityTypeBuilder<ChangeEntity> b)
    {
        b.ToTable("changes");
        b.HasKey(c => c.Seq);
        b.Property(c => c.Seq).ValueGeneratedOnAdd();
        b.Property(c => c.SignalType).HasMaxLength(32);
        // No foreign key to signals (see SignalConfiguration), and no index on SignalId: nothing looks changes up
        // by signal. No index by type either: a read filtered by type walks the primary key from its cursor and
        // skips the other types, and its next cursor goes to the head when the page is not full, so a reader of a
        // rare type scans each change once in all; the index cost every ingested signal an insert (about 0.9 us of
        // PostgreSQL's CPU, a third of the change's insert, measured on 400,000 changes).
    }
}

internal sealed class IdempotencyRecordConfiguration : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> b)
    {
        b.ToTable("idempotency_records");
        b.HasKey(r => new { r.MemberId, r.Key });
        b.Property(r => r.MemberId).HasMaxLength(40);
        b.Property(r => r.Key).HasMaxLength(128);
        b.Property(r => r.RequestHash).HasMaxLength(32);
    }
}

internal sealed class HubSettingConfiguration : IEntityTypeConfiguration<HubSetting>
{
    public void Configure(EntityTypeBuilder<HubSetting> b)
    {
        b.ToTable("hub_settings");
        b.HasKey(s => s.Key);
        b.Property(s => s.Key).HasMaxLength(100);
        b.Property(s => s.Value).HasMaxLength(2000);
    }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntryEntity>
{
    public void Configure(EntityTypeBuilder<AuditEntryEntity> b)
    {
        b.ToTable("audit_log");
        b.HasKey(e => e.Seq);
        b.Property(e => e.Seq).ValueGeneratedOnAdd();
        // A member id, "operator", "applicant" or a console user ("console:" and an e-mail of up to 256 characters).
        b.Property(e => e.ActorId).HasMaxLength(300);
        b.Property(e => e.ClientId).HasMaxLength(100);
        b.Property(e => e.Action).HasMaxLength(64);
        b.Property(e => e.Target).HasMaxLength(300);
        b.Property(e => e.Details).HasMaxLength(8000);
        b.Property(e => e.PreviousHash).HasMaxLength(32);
        b.Property(e => e.Hash).HasMaxLength(32);
    }
}

internal sealed class MembershipApplicationConfiguration : IEntityTypeConfiguration<MembershipApplicationEntity>
{
    public void Configure(EntityTypeBuilder<MembershipApplicationEntity> b)
    {
        b.ToTable("membership_applications");
        b.HasKey(a => a.Id);
        b.Property(a => a.Id).HasMaxLength(40);
        b.Property(a => a.OrganisationName).HasMaxLength(200);
        b.Property(a => a.Website).HasMaxLength(2048);
        b.Property(a => a.ContactEmail).HasMaxLength(320);
        b.Property(a => a.Description).HasMaxLength(4000);
        b.Property(a => a.TermsUrl).HasMaxLength(2048);
        b.Property(a => a.ReportingDescription).HasMaxLength(2000);
        b.Property(a => a.TransparencyReportUrl).HasMaxLength(2048);
        b.Property(a => a.DecidedBy).HasMaxLength(300);
        b.Property(a => a.Notes).HasMaxLength(4000);
        b.Property(a => a.RejectionReason).HasMaxLength(2000);
        b.Property(a => a.MemberId).HasMaxLength(40);
        b.HasIndex(a => new { a.Status, a.SubmittedAt });
    }
}

internal sealed class SharingGroupConfiguration : IEntityTypeConfiguration<SharingGroupEntity>
{
    public void Configure(EntityTypeBuilder<SharingGroupEntity> b)
    {
        b.ToTable("sharing_groups");
        b.HasKey(g => g.Id);
        b.Property(g => g.Id).HasMaxLength(40);
        b.Property(g => g.Name).HasMaxLength(200);
        b.Property(g => g.Description).HasMaxLength(2000);
        b.HasIndex(g => g.Name).IsUnique();
    }
}

internal sealed class SharingGroupMemberConfiguration : IEntityTypeConfiguration<SharingGroupMember>
{
    public void Configure(EntityTypeBuilder<SharingGroupMember> b)
    {
        b.ToTable("sharing_group_members");
        // (GroupId, MemberId) serves the visibility test "is the viewer in this contribution's group".
        b.HasKey(m => new { m.GroupId, m.MemberId });
        b.Property(m => m.GroupId).HasMaxLength(40);
        b.Property(m => m.MemberId).HasMaxLength(40);
        b.HasIndex(m => m.MemberId);
    }
}

internal sealed class ContributionGroupConfiguration : IEntityTypeConfiguration<ContributionGroup>
{
    public void Configure(EntityTypeBuilder<ContributionGroup> b)
    {
        b.ToTable("contribution_groups");
        b.HasKey(g => new { g.ContributionId, g.GroupId });
        b.Property(g => g.GroupId).HasMaxLength(40);
    }
}

internal sealed class UsedClientAssertionConfiguration : IEntityTypeConfiguration<UsedClientAssertion>
{
    public void Configure(EntityTypeBuilder<UsedClientAssertion> b)
    {
        b.ToTable("used_client_assertions");
        b.HasKey(a => new { a.ClientId, a.Jti });
        b.Property(a => a.ClientId).HasMaxLength(100);
        b.Property(a => a.Jti).HasMaxLength(200);
        b.HasIndex(a => a.ExpiresAt);
    }
}

internal sealed class MatchOutcomeConfiguration : IEntityTypeConfiguration<MatchOutcomeEntity>
{
    public void Configure(EntityTypeBuilder<MatchOutcomeEntity> b)
    {
        b.ToTable("match_outcomes");
        b.HasKey(o => o.Id);
        b.Property(o => o.MemberId).HasMaxLength(40);
        b.Property(o => o.BatchKey).HasMaxLength(128);
        b.HasIndex(o => new { o.MemberId, o.BatchKey, o.Ordinal }).IsUnique();
        // Transparency figures are counted per signal and per period.
        b.HasIndex(o => o.SignalId);
        b.HasIndex(o => o.ReportedAt);
    }
}
