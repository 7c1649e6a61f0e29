namespace HashHub.Server.Tests.Infrastructure;

/// <summary>Starts the shared PostgreSQL server once for the whole test run, and stops it at the end.</summary>
[SetUpFixture]
public sealed class TestEnvironment
{
    private static Task<PostgresServer>? _postgres;

    internal static Task<PostgresServer> Postgres => _postgres ??= PostgresServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopPostgres()
    {
        if (_postgres is { IsCompletedSuccessfully: true })
        {
            await (await _postgres).DisposeAsync();
        }
    }
}
