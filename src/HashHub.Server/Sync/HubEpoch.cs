namespace HashHub.Server.Sync;

/// <summary>The change log's epoch, read (or made) once when the hub starts. See <see cref="Cursor"/>.</summary>
public sealed class HubEpoch
{
    public long Value { get; internal set; }
}
