using System.Globalization;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// CPU time spent by this process (hub and client) and by the PostgreSQL server's processes, read from /proc
/// (only a server on this machine is measured; a remote one counts as zero).
/// On a shared, loaded machine wall-clock rates say more about the neighbours than about the hub; CPU seconds
/// per operation do not, so the benchmark reports both, and the rate the machine's cores would give if they
/// were free (operations / (CPU seconds / cores)).
/// </summary>
internal static class CpuMeter
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>
    /// CPU seconds so far: this process, and the PostgreSQL server whose postmaster is
    /// <paramref name="postmasterPid"/> (its own time, its live children's, and its ended children's), if any.
    /// </summary>
    public static (double Self, double Postgres) Read(int? postmasterPid)
    {
        var self = ProcessSeconds(Environment.ProcessId);
        double postgres = 0;
        if (postmasterPid is { } postmaster)
        {
            postgres = ProcessSeconds(postmaster, withEndedChildren: true);
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), out var pid) && ParentPid(pid) == postmaster)
                {
                    postgres += ProcessSeconds(pid);
                }
            }
        }
        return (self, postgres);
    }

    private static double ProcessSeconds(int pid, bool withEndedChildren = false)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return 0; // the process ended meanwhile
        }
        // utime and stime are fields 14 and 15 of stat, cutime and cstime (reaped children) 16 and 17; fields[0] here is field 3.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (withEndedChildren)
        {
            ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }
        return ticks / TicksPerSecond;
    }

    public static int ParentPid(int pid) => StatFields(pid) is { } fields ? int.Parse(fields[1], CultureInfo.InvariantCulture) : -1;

    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }
}
