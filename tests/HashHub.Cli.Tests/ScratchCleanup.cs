using HashHub.Cli.Tests.Infrastructure;

namespace HashHub.Cli.Tests;

/// <summary>Deletes the scratch files once every test of the assembly has run.</summary>
[SetUpFixture]
public sealed class ScratchCleanup
{
    [OneTimeTearDown]
    public void DeleteScratch()
    {
        if (Directory.Exists(TestFiles.ScratchRoot))
        {
            Directory.Delete(TestFiles.ScratchRoot, recursive: true);
        }
    }
}
