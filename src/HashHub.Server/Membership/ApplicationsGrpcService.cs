using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Audit;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Membership;

/// <summary>
/// The vetting workflow: anyone may apply; only an admin's approval creates a member and its credentials.
/// </summary>
internal sealed class ApplicationsGrpcService(HubDbContext db, ChangeLog changeLog, MemberAdministration admin, TimeProvider time)
    : Proto.Applications.ApplicationsBase
{
    [AllowAnonymous]
    public override async Task<Proto.MembershipApplication> Apply(Proto.ApplyRequest request, ServerCallContext context)
    {
        var violations = new List<FieldViolation>();
        var name = request.OrganisationName.Trim();
        if (name.Length is 0 or > 200)
        {
            violations.Add(new("organisation_name", "is required, at most 200 characters"));
        }
        HttpUrl(request.Website, "website", required: true, violations);
        if (request.ContactEmail.Length is 0 or > 320 || request.ContactEmail.IndexOf('@', StringComparison.Ordinal) is < 1 || request.ContactEmail.EndsWith('@'))
        {
            violations.Add(new("contact_email", "must be an e-mail address"));
        }
        if (request.Description.Length > 4000)
        {
            violations.Add(new("description", "is at most 4,000 characters"));
        }
        var criteria = request.Criteria ?? new Proto.CriteriaAnswers();
        HttpUrl(criteria.TermsUrl, "criteria.terms_url", required: criteria.TermsProhibitTvec, violations);
        HttpUrl(criteria.TransparencyReportUrl, "criteria.transparency_report_url", required: false, violations);
        if (criteria.ReportingDescription.Length > 2000)
        {
            violations.Add(new("criteria.reporting_description", "is at most 2,000 characters"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }

        var application = await changeLog.WriteAsync(db, async (batch, ct) =>
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
                Website = request.Website,
                ContactEmail = request.ContactEmail,
                Description = request.Description,
                TermsProhibitTvec = criteria.TermsProhibitTvec,
                TermsUrl = criteria.TermsUrl,
                UserReportingAndAppeal = criteria.UserReportingAndAppeal,
                ReportingDescription = criteria.ReportingDescription,
                TransparencyReportUrl = criteria.TransparencyReportUrl,
                HumanRightsCommitment = criteria.HumanRightsCommitment,
                Status = ApplicationStatus.Pending,
                SubmittedAt = time.GetUtcNow(),
            };
            db.Applications.Add(application);
            batch.Audit(new AuditRecord("applicant", string.Empty, "application.submit", application.Id, new { application.OrganisationName, application.Website }));
            return application;
        }, context.CancellationToken);
        return ToProto(application);
    }

    [Authorize(Policy = HubPolicies.Admin)]
    public override async Task<Proto.ListApplicationsResponse> ListApplications(Proto.ListApplicationsRequest request, ServerCallContext context)
    {
        var query = db.Applications.AsNoTracking();
        if (request.Status != Proto.ApplicationStatus.Unspecified)
        {
            var status = (ApplicationStatus)(int)request.Status;
            query = query.Where(a => a.Status == status);
        }
        var response = new Proto.ListApplicationsResponse();
        response.Applications.AddRange((await query.ToListAsync(context.CancellationToken)).OrderByDescending(a => a.SubmittedAt).Select(ToProto));
        return response;
    }

    [Authorize(Policy = HubPolicies.Admin)]
    public override async Task<Proto.DecideApplicationResponse> DecideApplication(Proto.DecideApplicationRequest request, ServerCallContext context)
    {
        var violations = new List<FieldViolation>();
        if (string.IsNullOrEmpty(request.ApplicationId))
        {
            violations.Add(new("application_id", "is required"));
        }
        if (request.Decision is not (Proto.ApplicationStatus.Approved or Proto.ApplicationStatus.Rejected))
        {
            violations.Add(new("decision", "must be APPROVED or REJECTED"));
        }
        if (request.Decision == Proto.ApplicationStatus.Rejected && string.IsNullOrWhiteSpace(request.RejectionReason))
        {
            violations.Add(new("rejection_reason", "is required when rejecting: the applicant is told why"));
        }
        if (request.Notes.Length > 4000 || request.RejectionReason.Length > 2000)
        {
            violations.Add(new(request.Notes.Length > 4000 ? "notes" : "rejection_reason", "is too long (notes at most 4,000, reason at most 2,000 characters)"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        var caller = Caller.From(context);
        admin.Actor = (caller.MemberId, caller.ClientId);

        var (application, credential) = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var application = await db.Applications.SingleOrDefaultAsync(a => a.Id == request.ApplicationId, ct)
                ?? throw new NotFoundException($"No application {request.ApplicationId}.");
            if (application.Status != ApplicationStatus.Pending)
            {
                throw new PreconditionFailedException($"Application {application.Id} was already {application.Status.ToString().ToLowerInvariant()}.");
            }
            application.DecidedAt = time.GetUtcNow();
            application.DecidedBy = caller.MemberId;
            application.Notes = string.IsNullOrEmpty(request.Notes) ? null : request.Notes;
            IssuedCredential? credential = null;
            if (request.Decision == Proto.ApplicationStatus.Approved)
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
                application.RejectionReason = request.RejectionReason;
            }
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "application." + (credential is null ? "reject" : "approve"), application.Id,
                new { application.OrganisationName, application.MemberId, application.RejectionReason }));
            return (application, credential);
        }, context.CancellationToken);

        return new Proto.DecideApplicationResponse
        {
            Application = ToProto(application),
            ClientId = credential?.ClientId ?? string.Empty,
            ClientSecret = credential?.ClientSecret ?? string.Empty,
        };
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

    private static Proto.MembershipApplication ToProto(MembershipApplicationEntity a)
    {
        var message = new Proto.MembershipApplication
        {
            Id = a.Id,
            OrganisationName = a.OrganisationName,
            Website = a.Website,
            ContactEmail = a.ContactEmail,
            Description = a.Description,
            Criteria = new Proto.CriteriaAnswers
            {
                TermsProhibitTvec = a.TermsProhibitTvec,
                TermsUrl = a.TermsUrl,
                UserReportingAndAppeal = a.UserReportingAndAppeal,
                ReportingDescription = a.ReportingDescription,
                TransparencyReportUrl = a.TransparencyReportUrl,
                HumanRightsCommitment = a.HumanRightsCommitment,
            },
            Status = (Proto.ApplicationStatus)(int)a.Status,
            SubmittedAt = Timestamp.FromDateTimeOffset(a.SubmittedAt),
            DecidedBy = a.DecidedBy ?? string.Empty,
            Notes = a.Notes ?? string.Empty,
            RejectionReason = a.RejectionReason ?? string.Empty,
            MemberId = a.MemberId ?? string.Empty,
        };
        if (a.DecidedAt is { } decided)
        {
            message.DecidedAt = Timestamp.FromDateTimeOffset(decided);
        }
        return message;
    }
}
