using Microsoft.Playwright;

namespace HashHub.Server.Tests.EndToEnd;

/// <summary>
/// Debian's chromium driven by Playwright (its driver ships in the Microsoft.Playwright package and is copied
/// next to the tests by the build; no browser is ever downloaded). Each test gets its own browser with a fresh,
/// empty profile. A missing chromium fails the test with how to install it: browser tests never skip.
/// </summary>
internal sealed class ConsoleBrowser : IAsyncDisposable
{
    /// <summary>Where Debian's <c>chromium</c> package puts the browser; <c>HASHHUB_CHROMIUM</c> overrides it.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("HASHHUB_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    // Without the background-networking flags chromium keeps dialling Google's hosts, which this closed network
    // refuses; the rest keep a CI run quiet and deterministic (no GPU, no first-run UI, no updates, no sync).
    private static readonly string[] Flags =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly IPlaywright _playwright;
    private readonly IBrowserContext _context;
    private readonly string _profile;

    private ConsoleBrowser(IPlaywright playwright, IBrowserContext context, string profile, IPage page)
    {
        _playwright = playwright;
        _context = context;
        _profile = profile;
        Page = page;
    }

    public IPage Page { get; }

    public IBrowserContext Context => _context;

    public static async Task<ConsoleBrowser> LaunchAsync(string baseUrl)
    {
        if (!File.Exists(ExecutablePath))
        {
            Assert.Fail($"No chromium at {ExecutablePath}: the browser tests need Debian's chromium package (apt-get install -y chromium; .ci/run installs it).");
        }
        var profile = Path.Combine(Path.GetTempPath(), "hashhub-chromium-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(profile);
        var playwright = await Playwright.CreateAsync();
        // A persistent context is how Playwright takes --user-data-dir: here a new empty folder per browser.
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Flags,
            BaseURL = baseUrl,
        });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        return new ConsoleBrowser(playwright, context, profile, page);
    }

    public async ValueTask DisposeAsync()
    {
        // To look at what a test last saw (a failure in CI, or the layout): HASHHUB_CONSOLE_SCREENSHOTS=folder.
        if (Environment.GetEnvironmentVariable("HASHHUB_CONSOLE_SCREENSHOTS") is { Length: > 0 } folder)
        {
            await Page.ScreenshotAsync(new() { Path = Path.Combine(folder, TestContext.CurrentContext.Test.Name + ".png"), FullPage = true });
        }
        await _context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // chromium may still be flushing its profile; the temp cleaner takes it.
        }
    }
}
