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
    /// <paramref name="postmasterPid"/> if any, its processes one by one (pid, kind from its process title: "client
    /// backend", "autovacuum worker", "checkpointer"..., CPU seconds), and the CPU seconds of its children that
    /// ended (<see cref="Between"/> turns two readings into time by kind).
    /// </summary>
    public static (double Self, ServerReading? Postgres) ReadProcesses(int? postmasterPid)
    {
        var self = ProcessSeconds(Environment.ProcessId);
        if (postmasterPid is not { } postmaster)
        {
            return (self, null);
        }
        var own = ProcessSeconds(postmaster);
        var processes = new Dictionary<int, (string Kind, double Seconds)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && ParentPid(pid) == postmaster)
            {
                processes[pid] = (Kind(pid), ProcessSeconds(pid));
            }
        }
        processes[postmaster] = ("postmaster", own);
        return (self, new ServerReading(processes, ProcessSeconds(postmaster, withEndedChildren: true) - own));
    }

    /// <summary>The server's processes at one time, and the CPU seconds of its children that had ended by then.</summary>
    public sealed record ServerReading(IReadOnlyDictionary<int, (string Kind, double Seconds)> Processes, double Ended);

    /// <summary>
    /// The server's CPU seconds between two readings by kind of process. A process that ended in between counts
    /// under "ended" with its time after the first reading (the server adds up an ended child's whole life).
    /// </summary>
    public static Dictionary<string, double> Between(ServerReading before, ServerReading after)
    {
        var byKind = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (pid, (kind, seconds)) in after.Processes)
        {
            var earlier = before.Processes.TryGetValue(pid, out var b) ? b.Seconds : 0;
            byKind[kind] = byKind.GetValueOrDefault(kind) + seconds - earlier;
        }
        var endedEarlier = before.Processes.Where(p => !after.Processes.ContainsKey(p.Key)).Sum(p => p.Value.Seconds);
        byKind["ended"] = byKind.GetValueOrDefault("ended") + (after.Ended - before.Ended - endedEarlier);
        return byKind;
    }

    /// <summary>A server process's kind from its title ("postgres: checkpointer", "postgres: postgres db 127.0.0.1(5432) idle"...).</summary>
    private static string Kind(int pid)
    {
        try
        {
            var title = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            title = title.StartsWith("postgres: ", StringComparison.Ordinal) ? title["postgres: ".Length..] : title;
            if (title.Length == 0)
            {
                return "ended"; // Exited, not yet reaped: its cmdline is empty.
            }
            return title.Contains("127.0.0.1", StringComparison.Ordinal) || title.Contains("[local]", StringComparison.Ordinal) ? "client backends"
                : title.StartsWith("autovacuum worker", StringComparison.Ordinal) ? "autovacuum worker" : title;
        }
        catch (IOException)
        {
            return "ended";
        }
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
