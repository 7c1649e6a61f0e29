using System.Globalization;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// CPU time spent by this process (hub and client) and by the PostgreSQL server's processes, read from /proc.
/// On a shared, loaded machine wall-clock rates say more about the neighbours than about the hub; CPU seconds
/// per operation do not, so the benchmark reports both, and the rate the machine's cores would give if they
/// were free (operations / (CPU seconds / cores)).
/// </summary>
internal static class CpuMeter
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>CPU seconds so far: this process, and every process of the postgres system user.</summary>
    public static (double Self, double Postgres) Read()
    {
        var self = ProcessSeconds(Environment.ProcessId);
        double postgres = 0;
        if (OperatingSystem.IsLinux() && TryUid("postgres", out var uid))
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && OwnerUid(pid) == uid)
                {
                    postgres += ProcessSeconds(pid);
                }
            }
        }
        return (self, postgres);
    }

    private static double ProcessSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0; // the process ended meanwhile
        }
    }

    private static int OwnerUid(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            return line is null ? -1 : int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static bool TryUid(string user, out int uid)
    {
        uid = -1;
        var line = File.ReadLines("/etc/passwd").FirstOrDefault(l => l.StartsWith(user + ":", StringComparison.Ordinal));
        return line is not null && int.TryParse(line.Split(':')[2], out uid);
    }
}
