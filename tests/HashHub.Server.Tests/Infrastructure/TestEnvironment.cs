using HashHub.Server.Tests.Infrastructure;

namespace HashHub.Server.Tests;

/// <summary>
/// Starts the shared PostgreSQL server once for the whole test run, and stops it at the end. It lives in the
/// root namespace of the tests: a SetUpFixture covers only its own namespace and those below it.
/// </summary>
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
