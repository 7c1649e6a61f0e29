namespace HashHub.Client.Tests;

public sealed class HubClientOptionsTests
{
    [Test]
    public void Validate_EverythingMissingOrOutOfRange_ListsEveryProblemAtOnce()
    {
        var options = new HubClientOptions { PdqMatchRadius = 64, SyncPageSize = 0, StorePath = " " };
        options.Resilience.MaxRetryAttempts = 11;

        var e = Assert.Throws<ArgumentException>(options.Validate);

        Assert.That(e!.Message, Does.Contain("HubAddress is required")
            .And.Contain("ClientId is required")
            .And.Contain("ClientSecret is required")
            .And.Contain("PdqMatchRadius must be 0-63")
            .And.Contain("SyncPageSize must be 1-5000")
            .And.Contain("StorePath")
            .And.Contain("MaxRetryAttempts"));
    }

    [Test]
    public void Validate_NotAnHttpAddress_IsRejected()
    {
        var options = new HubClientOptions { HubAddress = new Uri("ftp://hub.example.org"), ClientId = "hh_1", ClientSecret = "s" };

        Assert.That(() => options.Validate(), Throws.ArgumentException.With.Message.Contains("HubAddress must be an absolute http or https URI"));
    }

    [Test]
    public void Validate_Minimal_Passes()
    {
        var options = new HubClientOptions { HubAddress = new Uri("http://127.0.0.1:5000"), ClientId = "hh_1", ClientSecret = "s" };

        Assert.That(options.Validate, Throws.Nothing);
        Assert.That(options.ResolvedTokenEndpoint, Is.EqualTo(new Uri("http://127.0.0.1:5000/connect/token")));
    }

    [Test]
    public void OpenAsync_InvalidOptions_ThrowsBeforeTouchingTheNetworkOrDisk()
    {
        var path = Path.Combine(Path.GetTempPath(), "hashhub-never-" + Guid.NewGuid().ToString("N") + ".db");

        Assert.ThrowsAsync<ArgumentException>(() => HashHubClient.OpenAsync(new HubClientOptions { StorePath = path }));
        Assert.That(File.Exists(path), Is.False);
    }
}
