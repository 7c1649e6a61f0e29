using HashHub.Server.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace HashHub.Server.AdminConsole;

/// <summary>
/// A console page for signed-in admins (password and second factor). The domain's exceptions become messages on
/// the page, as the gRPC interceptor turns them into statuses: the same rules, another front end.
/// </summary>
[Authorize(Policy = ConsolePolicies.Admin)]
internal abstract class ConsolePageModel : PageModel
{
    /// <summary>A message carried across the redirect after a successful action.</summary>
    [TempData]
    public string? Flash { get; set; }

    /// <summary>What went wrong with the last action, shown above the page.</summary>
    public string? Error { get; set; }

    /// <summary>
    /// Every admin action a console page takes through the domain is audited in the signed-in user's name: set here,
    /// before any handler runs, so no page can forget it.
    /// </summary>
    public override void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
        HttpContext.RequestServices.GetRequiredService<Membership.MemberAdministration>().ActingAs(User);
        base.OnPageHandlerExecuting(context);
    }

    /// <summary>
    /// Runs a domain action; on a rule the domain enforces, shows why on the page instead of failing.
    /// <paramref name="fieldNames"/> maps the contract's field names to this page's inputs.
    /// </summary>
    protected async Task<IActionResult> RunAsync(Func<Task<IActionResult>> action, IReadOnlyDictionary<string, string>? fieldNames = null)
    {
        try
        {
            return await action();
        }
        catch (RequestValidationException ex)
        {
            foreach (var v in ex.Violations)
            {
                var key = fieldNames?.GetValueOrDefault(v.Field) ?? string.Empty;
                ModelState.AddModelError(key, key.Length == 0 ? $"{v.Field}: {v.Description}" : v.Description);
            }
            Error = "Nothing was changed: " + string.Join("; ", ex.Violations.Select(v => $"{v.Field} {v.Description}"));
        }
        catch (PreconditionFailedException ex)
        {
            Error = ex.Message;
        }
        catch (NotFoundException)
        {
            return NotFound();
        }
        await OnReloadAsync();
        return Page();
    }

    /// <summary>Loads what the page shows again after a failed action.</summary>
    protected virtual Task OnReloadAsync() => Task.CompletedTask;
}
