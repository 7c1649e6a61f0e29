using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Membership;

/// <summary>
/// The vetting workflow over gRPC: a thin adapter over <see cref="MembershipApplications"/>, which the admin
/// console calls too.
/// </summary>
internal sealed class ApplicationsGrpcService(MembershipApplications applications, MemberAdministration admin)
    : Proto.Applications.ApplicationsBase
{
    [AllowAnonymous]
    public override async Task<Proto.MembershipApplication> Apply(Proto.ApplyRequest request, ServerCallContext context)
    {
        var criteria = request.Criteria ?? new Proto.CriteriaAnswers();
        var application = await applications.ApplyAsync(new ApplicationForm(
            request.OrganisationName, request.Website, request.ContactEmail, request.Description,
            criteria.TermsProhibitTvec, criteria.TermsUrl, criteria.UserReportingAndAppeal, criteria.ReportingDescription,
            criteria.TransparencyReportUrl, criteria.HumanRightsCommitment), context.CancellationToken);
        return ToProto(application);
    }

    [Authorize(Policy = HubPolicies.Admin)]
    public override async Task<Proto.ListApplicationsResponse> ListApplications(Proto.ListApplicationsRequest request, ServerCallContext context)
    {
        ApplicationStatus? status = request.Status == Proto.ApplicationStatus.Unspecified ? null : (ApplicationStatus)(int)request.Status;
        var response = new Proto.ListApplicationsResponse();
        response.Applications.AddRange((await applications.ListAsync(status, context.CancellationToken)).Select(ToProto));
        return response;
    }

    [Authorize(Policy = HubPolicies.Admin)]
    public override async Task<Proto.DecideApplicationResponse> DecideApplication(Proto.DecideApplicationRequest request, ServerCallContext context)
    {
        if (request.Decision is not (Proto.ApplicationStatus.Approved or Proto.ApplicationStatus.Rejected))
        {
            throw new RequestValidationException("decision", "must be APPROVED or REJECTED");
        }
        var caller = Caller.From(context);
        admin.Actor = (caller.MemberId, caller.ClientId);
        var (application, credential) = await applications.DecideAsync(request.ApplicationId, request.Decision == Proto.ApplicationStatus.Approved,
            request.Notes, request.RejectionReason, context.CancellationToken);
        return new Proto.DecideApplicationResponse
        {
            Application = ToProto(application),
            ClientId = credential?.ClientId ?? string.Empty,
            ClientSecret = credential?.ClientSecret ?? string.Empty,
        };
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
