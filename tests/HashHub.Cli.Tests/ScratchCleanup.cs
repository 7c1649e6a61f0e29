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
        // The parent is shared by concurrent runs (one folder per process): removed only once empty.
        var parent = Path.GetDirectoryName(TestFiles.ScratchRoot)!;
        if (Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any())
        {
            try
            {
                Directory.Delete(parent);
            }
            catch (IOException)
            {
                // Another run created its folder meanwhile.
            }
        }
    }
}
