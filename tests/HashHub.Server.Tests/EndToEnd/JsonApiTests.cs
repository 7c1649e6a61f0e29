using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HashHub.Server.Tests.EndToEnd;

/// <summary>
/// The member RPCs as JSON over HTTP (gRPC JSON transcoding) on a real hub process: the README's curl flow run
/// as written, errors as HTTP statuses, limits, streaming and the OpenAPI document.
/// </summary>
public sealed partial class JsonApiTests
{
    private HubProcess _hub = null!;
    private Dictionary<string, string> _credential = null!;
    private string _data = null!;

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _data = Path.Combine(Path.GetTempPath(), "hashhub-json-" + Guid.NewGuid().ToString("N")[..8]);
        _hub = new HubProcess([
            "--Storage:Provider=Sqlite", $"--Storage:DataDirectory={_data}",
            // ListLabels is the limited method of Json_OverTheLimit_429WithRetryAfter; the others keep their defaults.
            "--RateLimits:Methods:ListLabels:Burst=2", "--RateLimits:Methods:ListLabels:PerSecond=0.01",
        ]);
        var printed = await _hub.RunCommandAsync("admin", "add-member", "Small Forum");
        _credential = printed.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal))
            .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        await _hub.StartAsync();
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        _hub.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    [Test]
    public async Task ReadmeCurlFlow_AgainstRealHub_ContributesMatchesAndReadsChanges()
    {
        var script = ReadmeBlock();
        var start = new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["HUB"] = $"http://127.0.0.1:{_hub.HttpPort}";
        start.Environment["CLIENT_ID"] = _credential["client_id"];
        start.Environment["CLIENT_SECRET"] = _credential["client_secret"];

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.That(process.ExitCode, Is.Zero, $"the README's curl flow failed:\n{errors}\n{output}");
        // Three JSON answers, one after the other: submit, match, changes.
        var answers = SplitJson(output);
        Assert.That(answers, Has.Count.EqualTo(3), output);
        var signalId = answers[0].GetProperty("results")[0].GetProperty("signalId").GetString();
        var match = answers[1].GetProperty("matches")[0];
        var change = answers[2].GetProperty("changes")[0];
        Assert.Multiple(() =>
        {
            Assert.That(answers[0].GetProperty("results")[0].GetProperty("signalCreated").GetBoolean(), Is.True);
            Assert.That(match.GetProperty("signal").GetProperty("id").GetString(), Is.EqualTo(signalId));
            Assert.That(match.GetProperty("distance").GetInt32(), Is.EqualTo(4));
            Assert.That(match.GetProperty("signal").GetProperty("labels").EnumerateArray().Select(l => l.GetString()),
                Is.EqualTo(new[] { "behavior:glorification", "content_type:image" }));
            Assert.That(change.GetProperty("signal").GetProperty("id").GetString(), Is.EqualTo(signalId));
            Assert.That(answers[2].GetProperty("nextCursor").GetString(), Is.Not.Empty);
        });
    }

    [Test]
    public async Task Json_InvalidHash_400NamingTheField()
    {
        using var http = await AuthorizedAsync();

        using var response = await http.PostAsync("/v1/match", Json("""{"signals":[{"type":"SIGNAL_TYPE_PDQ","value":"zz"}]}"""));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
            Assert.That(body, Does.Contain("signals[0].value"));
        });
    }

    [Test]
    public async Task Json_WithoutToken_401()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_hub.HttpPort}") };

        using var response = await http.GetAsync("/v1/changes");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Json_OverTheLimit_429WithRetryAfter()
    {
        using var http = await AuthorizedAsync();

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            last?.Dispose();
            last = await http.GetAsync("/v1/labels");
            statuses.Add(last.StatusCode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
            Assert.That(last!.Headers.RetryAfter, Is.Not.Null);
        });
        last!.Dispose();
    }

    [Test]
    public async Task Json_Subscribe_StreamsCaughtUpFirst()
    {
        using var http = await AuthorizedAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var response = await http.GetAsync("/v1/changes:subscribe", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var first = new StringBuilder();
        // Messages are JSON objects written one after another; read until the first one is complete.
        var depth = 0;
        do
        {
            var ch = (char)reader.Read();
            first.Append(ch);
            depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
        }
        while (depth > 0 || first.ToString().Trim().Length == 0);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var message = JsonDocument.Parse(first.ToString());
        Assert.That(message.RootElement.TryGetProperty("caughtUp", out _) || message.RootElement.TryGetProperty("change", out _), Is.True, first.ToString());
    }

    [Test]
    public async Task Json_GetLogHead_AnswersForACursor()
    {
        using var http = await AuthorizedAsync();
        using var page = JsonDocument.Parse(await http.GetStringAsync("/v1/changes?pageSize=1"));
        var cursor = page.RootElement.GetProperty("nextCursor").GetString();

        using var response = await http.GetAsync("/v1/changes:head?cursor=" + Uri.EscapeDataString(cursor!));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        // Proto JSON leaves zero values out: an up-to-date cursor answers {} (with the times once the log has changes).
        Assert.That(JsonDocument.Parse(body).RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object));
    }

    [Test]
    public async Task OpenApiDocument_IsPublicAndListsTheMemberRoutes()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_hub.HttpPort}") };

        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(paths, Is.SupersetOf(new[] { "/v1/contributions:submit", "/v1/match", "/v1/outcomes", "/v1/changes", "/v1/changes:head", "/v1/labels", "/v1/applications" }));
        Assert.That(paths.Any(p => p.StartsWith("/v1/signals/", StringComparison.Ordinal)), Is.True, string.Join(", ", paths));
    }

    private async Task<HttpClient> AuthorizedAsync()
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_hub.HttpPort}") };
        var token = await _hub.GetTokenAsync(_credential["client_id"], _credential["client_secret"]);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The shell block of the README marked <c>&lt;!-- curl-flow --&gt;</c>, as written.</summary>
    private static string ReadmeBlock()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "HashHub.sln")))
        {
            dir = dir.Parent;
        }
        Assert.That(dir, Is.Not.Null, "the repository root (HashHub.sln) above the test build");
        var readme = File.ReadAllText(Path.Combine(dir!.FullName, "README.md"));
        var match = CurlFlow().Match(readme);
        Assert.That(match.Success, Is.True, "README.md holds a ```sh block after <!-- curl-flow -->");
        return match.Groups[1].Value;
    }

    private static List<JsonElement> SplitJson(string output)
    {
        var answers = new List<JsonElement>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(output), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            // Each top-level object is one answer; ParseValue leaves the reader on its closing brace.
            answers.Add(JsonElement.ParseValue(ref reader));
        }
        return answers;
    }

    [GeneratedRegex(@"<!-- curl-flow -->\s*```sh\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex CurlFlow();
}
