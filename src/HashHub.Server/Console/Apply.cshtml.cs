using HashHub.Server.Errors;
using HashHub.Server.Membership;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>
/// The public application form (issue 4.1): the same domain call as the Apply RPC, rate limited per address
/// the same way. Nothing an applicant sends gives it any access; only an admin's approval does.
/// </summary>
[AllowAnonymous]
internal sealed class ApplyModel(MembershipApplications applications) : PageModel
{
    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["organisation_name"] = "Input.OrganisationName",
        ["website"] = "Input.Website",
        ["contact_email"] = "Input.ContactEmail",
        ["description"] = "Input.Description",
        ["criteria.terms_url"] = "Input.TermsUrl",
        ["criteria.reporting_description"] = "Input.ReportingDescription",
        ["criteria.transparency_report_url"] = "Input.TransparencyReportUrl",
    };

    [BindProperty]
    public ApplyInput Input { get; set; } = new();

    /// <summary>The application id, once submitted.</summary>
    public string? SubmittedId { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        try
        {
            var application = await applications.ApplyAsync(new ApplicationForm(
                Input.OrganisationName ?? string.Empty, Input.Website ?? string.Empty, Input.ContactEmail ?? string.Empty, Input.Description ?? string.Empty,
                Input.TermsProhibitTvec, Input.TermsUrl ?? string.Empty, Input.UserReportingAndAppeal, Input.ReportingDescription ?? string.Empty,
                Input.TransparencyReportUrl ?? string.Empty, Input.HumanRightsCommitment), cancellationToken);
            SubmittedId = application.Id;
        }
        catch (RequestValidationException ex)
        {
            foreach (var v in ex.Violations)
            {
                ModelState.AddModelError(Fields.GetValueOrDefault(v.Field, string.Empty), v.Description);
            }
        }
        return Page();
    }
}

/// <summary>The form's fields; validated by the domain, not here, so the RPC and the page apply one set of rules.</summary>
internal sealed class ApplyInput
{
    public string? OrganisationName { get; set; }
    public string? Website { get; set; }
    public string? ContactEmail { get; set; }
    public string? Description { get; set; }
    public bool TermsProhibitTvec { get; set; }
    public string? TermsUrl { get; set; }
    public bool UserReportingAndAppeal { get; set; }
    public string? ReportingDescription { get; set; }
    public string? TransparencyReportUrl { get; set; }
    public bool HumanRightsCommitment { get; set; }
}
