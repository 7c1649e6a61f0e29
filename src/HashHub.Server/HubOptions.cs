using System.ComponentModel.DataAnnotations;

namespace HashHub.Server;

/// <summary>The <c>Hub</c> configuration section: limits and timings of the member-facing API.</summary>
public sealed class HubOptions
{
    public const string Section = "Hub";

    /// <summary>Most items in one SubmitContributions batch (default 10,000).</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>PDQ hashes under this quality are rejected at ingest (default 50, per the PDQ hashing document).</summary>
    [Range(0, 100)]
    public int MinPdqQuality { get; set; } = 50;

    /// <summary>Page size of ReadChanges when the request leaves it at 0 (default 1,000).</summary>
    [Range(1, 100_000)]
    public int DefaultPageSize { get; set; } = 1_000;

    /// <summary>Largest page of ReadChanges (default 5,000).</summary>
    [Range(1, 100_000)]
    public int MaxPageSize { get; set; } = 5_000;

    /// <summary>
    /// How often a live subscription checks the log when nothing woke it (changes committed by other hub
    /// nodes sharing the database); default 1 second.
    /// </summary>
    public TimeSpan SubscriptionPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often an idle live subscription sends a CaughtUp heartbeat (default 15 seconds).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How many changes the log must have moved past the signals snapshot (snapshots.proto) before the hub builds a
    /// new one in the background (default 100,000). A reader bootstrapping from a snapshot reads at most about this
    /// many changes after it; each rebuild reads every signal once.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long SnapshotRebuildAfterChanges { get; set; } = 100_000;

    /// <summary>How often the hub checks whether the snapshot is due for a rebuild (default 1 minute).</summary>
    public TimeSpan SnapshotCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Bytes of signal records per snapshot chunk (default 1 MiB): large enough that framing costs nothing, well under
    /// the 4 MB message limit gRPC clients apply by default.
    /// </summary>
    [Range(1_024, 3 * 1024 * 1024)]
    public int SnapshotChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Whether new members start on probation, and what releases their held contributions (default
    /// <see cref="ProbationMode.AdminReview"/>). Applies to members created from then on (approved applications,
    /// <c>admin add-member</c> without <c>--no-probation</c>); admin organisations never start on probation.
    /// </summary>
    public ProbationMode Probation { get; set; } = ProbationMode.AdminReview;
}

/// <summary>How contributions of a member on probation reach the other members.</summary>
public enum ProbationMode
{
    /// <summary>No probation: new members share at once.</summary>
    Off = 0,
    /// <summary>Held until an admin releases (or rejects) them, or ends the member's probation releasing them.</summary>
    AdminReview = 1,
    /// <summary>
    /// As <see cref="AdminReview"/>, and also released when a member not on probation contributes the same signal
    /// (and not held at all when such a member already has).
    /// </summary>
    Confirmation = 2,
}
