using System.Security.Cryptography;
using HashHub.Server.Audit;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Membership;

/// <summary>What an organisation fills in to apply: its details and its answers to the membership criteria.</summary>
internal sealed record ApplicationForm(
    string OrganisationName,
    string Website,
    string ContactEmail,
    string Description,
    bool TermsProhibitTvec,
    string TermsUrl,
    bool UserReportingAndAppeal,
    string ReportingDescription,
    string TransparencyReportUrl,
    bool HumanRightsCommitment);

/// <summary>The outcome of a decision: the application, and the new member's first credential when approved.</summary>
internal sealed record ApplicationDecision(MembershipApplicationEntity Application, IssuedCredential? Credential);

/// <summary>
/// The vetting workflow, shared by the Applications RPCs and the admin console: anyone may apply; only an admin's
/// approval creates a member and its credentials. Field names in validation errors are the contract's
/// (<c>organisation_name</c>, <c>criteria.terms_url</c>), so both front ends report them the same way.
/// Admin actions are audited in the name of <see cref="MemberAdministration.Actor"/>.
/// </summary>
internal sealed class MembershipApplications(HubDbContext db, ChangeLog changeLog, MemberAdministration admin, TimeProvider time)
{
    public const int MaxNotes = 4000;
    public const int MaxReason = 2000;

    /// <summary>Records a new pending application (audited as the applicant's).</summary>
    public async Task<MembershipApplicationEntity> ApplyAsync(ApplicationForm form, CancellationToken cancellationToken)
    {
        var violations = new List<FieldViolation>();
        var name = form.OrganisationName.Trim();
        if (name.Length is 0 or > 200)
        {
            violations.Add(new("organisation_name", "is required, at most 200 characters"));
        }
        HttpUrl(form.Website, "website", required: true, violations);
        if (form.ContactEmail.Length is 0 or > 320 || form.ContactEmail.IndexOf('@', StringComparison.Ordinal) is < 1 || form.ContactEmail.EndsWith('@'))
        {
            violations.Add(new("contact_email", "must be an e-mail address"));
        }
        if (form.Description.Length > 4000)
        {
            violations.Add(new("description", "is at most 4,000 characters"));
        }
        HttpUrl(form.TermsUrl, "criteria.terms_url", required: form.TermsProhibitTvec, violations);
        HttpUrl(form.TransparencyReportUrl, "criteria.transparency_report_url", required: false, violations);
        if (form.ReportingDescription.Length > 2000)
        {
            violations.Add(new("criteria.reporting_description", "is at most 2,000 characters"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }

        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            if (await db.Applications.AnyAsync(a => a.OrganisationName == name && a.Status == ApplicationStatus.Pending, ct))
            {
                throw new RequestValidationException("organisation_name", "already has a pending application");
            }
            if (await db.Members.AnyAsync(m => m.Name == name, ct))
            {
                throw new RequestValidationException("organisation_name", "is already a member of the consortium");
            }
            var application = new MembershipApplicationEntity
            {
                Id = "app_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                OrganisationName = name,
                Website = form.Website,
                ContactEmail = form.ContactEmail,
                Description = form.Description,
                TermsProhibitTvec = form.TermsProhibitTvec,
                TermsUrl = form.TermsUrl,
                UserReportingAndAppeal = form.UserReportingAndAppeal,
                ReportingDescription = form.ReportingDescription,
                TransparencyReportUrl = form.TransparencyReportUrl,
                HumanRightsCommitment = form.HumanRightsCommitment,
                Status = ApplicationStatus.Pending,
                SubmittedAt = time.GetUtcNow(),
            };
            db.Applications.Add(application);
            batch.Audit(new AuditRecord("applicant", string.Empty, "application.submit", application.Id, new { application.OrganisationName, application.Website }));
            return application;
        }, cancellationToken);
    }

    /// <summary>Applications with <paramref name="status"/> (all when null): pending first, then newest first.</summary>
    public async Task<IReadOnlyList<MembershipApplicationEntity>> ListAsync(ApplicationStatus? status, CancellationToken cancellationToken)
    {
        var query = db.Applications.AsNoTracking();
        if (status is { } s)
        {
            query = query.Where(a => a.Status == s);
        }
        // Sorted in memory: SQLite cannot order by a DateTimeOffset stored as ticks through every provider alike.
        return (await query.ToListAsync(cancellationToken))
            .OrderBy(a => a.Status == ApplicationStatus.Pending ? 0 : 1)
            .ThenByDescending(a => a.SubmittedAt)
            .ToList();
    }

    public async Task<MembershipApplicationEntity> GetAsync(string applicationId, CancellationToken cancellationToken) =>
        await db.Applications.AsNoTracking().SingleOrDefaultAsync(a => a.Id == applicationId, cancellationToken)
            ?? throw new NotFoundException($"No application {applicationId}.");

    /// <summary>Records the reviewers' notes on an application before (or without) a decision; audited.</summary>
    public async Task<MembershipApplicationEntity> RecordNotesAsync(string applicationId, string notes, CancellationToken cancellationToken)
    {
        if (notes.Length > MaxNotes)
        {
            throw new RequestValidationException("notes", $"is at most {MaxNotes:N0} characters");
        }
        var actor = admin.Actor;
        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == applicationId, ct)
                ?? throw new NotFoundException($"No application {applicationId}.");
            application.Notes = string.IsNullOrWhiteSpace(notes) ? null : notes;
            batch.Audit(new AuditRecord(actor.ActorId, actor.ClientId, "application.notes", application.Id, new { Notes = application.Notes }));
            return application;
        }, cancellationToken);
    }

    /// <summary>
    /// Approves (creates the member and its first credential, in the same transaction) or rejects with a reason
    /// the applicant is told. A decided application stays decided.
    /// </summary>
    public async Task<ApplicationDecision> DecideAsync(string applicationId, bool approve, string? notes, string? rejectionReason, CancellationToken cancellationToken)
    {
        var violations = new List<FieldViolation>();
        if (string.IsNullOrEmpty(applicationId))
        {
            violations.Add(new("application_id", "is required"));
        }
        if (!approve && string.IsNullOrWhiteSpace(rejectionReason))
        {
            violations.Add(new("rejection_reason", "is required when rejecting: the applicant is told why"));
        }
        if (notes?.Length > MaxNotes || rejectionReason?.Length > MaxReason)
        {
            violations.Add(new(notes?.Length > MaxNotes ? "notes" : "rejection_reason", "is too long (notes at most 4,000, reason at most 2,000 characters)"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        var actor = admin.Actor;
        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == applicationId, ct)
                ?? throw new NotFoundException($"No application {applicationId}.");
            if (application.Status != ApplicationStatus.Pending)
            {
                throw new PreconditionFailedException($"Application {application.Id} was already {application.Status.ToString().ToLowerInvariant()}.");
            }
            application.DecidedAt = time.GetUtcNow();
            application.DecidedBy = actor.ActorId;
            if (!string.IsNullOrEmpty(notes))
            {
                application.Notes = notes;
            }
            IssuedCredential? credential = null;
            if (approve)
            {
                if (await db.Members.AnyAsync(m => m.Name == application.OrganisationName, ct))
                {
                    throw new PreconditionFailedException($"A member named '{application.OrganisationName}' already exists.");
                }
                credential = await admin.AddMemberAsync(batch, application.OrganisationName, isAdmin: false, HubScopes.All, ct);
                application.Status = ApplicationStatus.Approved;
                application.MemberId = credential.MemberId;
            }
            else
            {
                application.Status = ApplicationStatus.Rejected;
                application.RejectionReason = rejectionReason;
            }
            batch.Audit(new AuditRecord(actor.ActorId, actor.ClientId, "application." + (credential is null ? "reject" : "approve"), application.Id,
                new { application.OrganisationName, application.MemberId, application.RejectionReason }));
            return new ApplicationDecision(application, credential);
        }, cancellationToken);
    }

    private static void HttpUrl(string value, string field, bool required, List<FieldViolation> violations)
    {
        if (string.IsNullOrEmpty(value))
        {
            if (required)
            {
                violations.Add(new(field, "is required"));
            }
            return;
        }
        if (value.Length > 2048 || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            violations.Add(new(field, "must be an http or https URL"));
        }
    }
}
