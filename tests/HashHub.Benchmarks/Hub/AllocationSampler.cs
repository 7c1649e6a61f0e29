using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// Samples this process's allocations by type (the runtime's AllocationTick event, one per about 100 KB
/// allocated), for <c>hub --allocations</c>: which types make up the bytes each ingested signal allocates.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null)
        {
            return;
        }
        var type = eventData.PayloadNames?.IndexOf("TypeName") is int t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = eventData.PayloadNames?.IndexOf("AllocationAmount64") is int a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 0;
        var large = eventData.PayloadNames?.IndexOf("AllocationKind") is int k and >= 0 && Convert.ToInt32(eventData.Payload[k], CultureInfo.InvariantCulture) == 1;
        _bytes.AddOrUpdate(large ? type + " (large)" : type, amount, (_, v) => v + amount);
    }

    public void Reset() => _bytes.Clear();

    /// <summary>Prints the types that took the most sampled bytes, per operation.</summary>
    public void Print(int count, string unit, int top = 25)
    {
        var total = _bytes.Values.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{string.Empty,-9} allocations sampled: {(double)total / count:F0} bytes per {unit}, by type:"));
        foreach (var (type, bytes) in _bytes.OrderByDescending(b => b.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{string.Empty,-12}{(double)bytes / count,8:F0}  {type}"));
        }
    }
}
