namespace HashHub.Client.Tests.Infrastructure;

/// <summary>Waits for a condition that another task makes true; the bound only turns a hang into a failure.</summary>
internal static class Eventually
{
    public static async Task ThatAsync(Func<bool> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Gave up waiting ({seconds} s) for: {what}");
            }
            await Task.Delay(20);
        }
    }
}
