using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using HashHub.Server.Contributions;
using HashHub.Server.Membership;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Sync;

/// <summary>Which contributions a snapshot read takes: those shared with every member, or those a viewer may see (null: an admin, all).</summary>
internal readonly record struct SnapshotScope(bool AllMembersOnly, string? Viewer)
{
    public static SnapshotScope AllMembers => new(true, null);

    public static SnapshotScope For(string? viewer) => new(false, viewer);
}

/// <summary>One chunk of a snapshot file: records of one signal type, encoded as <see cref="Proto.SnapshotChunk"/>'s field 1.</summary>
internal readonly record struct SnapshotChunkInfo(Proto.SignalType Type, int Count, long Offset, int Length);

/// <summary>
/// Keeps the all-members snapshot of the signals (snapshots.proto) in a file under the data folder, ready to be written
/// to readers as it is. A snapshot is taken at the log's head: the head is read first, then every signal page by page,
/// so each record is at least as new as that position, and the changes after it, which a reader reads next, bring
/// anything newer again (a change carries the signal's current state, so applying it twice does no harm).
/// <para>
/// The file is rebuilt in the background (<see cref="SnapshotRebuilder"/>) once the log has grown by
/// <see cref="HubOptions.SnapshotRebuildAfterChanges"/> changes past it, and on the first request when there is none.
/// A snapshot being served keeps its file open (<see cref="SnapshotLease"/>) when a newer one replaces it.
/// </para>
/// </summary>
public sealed partial class SnapshotStore(
    IServiceScopeFactory scopes, IOptions<StorageOptions> storage, IOptions<HubOptions> options, HubEpoch epoch, TimeProvider time, ILogger<SnapshotStore> logger)
    : IDisposable
{
    private static readonly byte[] Magic = "HHSNAP01"u8.ToArray();
    private const int SignalsPerRead = 2_000;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private SnapshotFile? _current;
    private bool _loaded;

    private string Folder => Path.Combine(Path.GetFullPath(storage.Value.DataDirectory), "snapshots");

    /// <summary>The log position of the current snapshot; null while there is none.</summary>
    public long? CurrentSeq => Volatile.Read(ref _current)?.Seq;

    /// <summary>The current snapshot, made first when there is none; dispose the lease when done reading it.</summary>
    internal async Task<SnapshotLease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _current)?.TryAcquire() is { } lease)
        {
            return lease;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await LoadOnceAsync(cancellationToken);
            if (_current?.TryAcquire() is { } existing)
            {
                return existing;
            }
            Replace(await BuildFileAsync(cancellationToken));
            return _current!.TryAcquire()!;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Builds a new snapshot when the log has moved at least <paramref name="minChanges"/> past the current one (or
    /// there is none); returns the log position of the snapshot in use afterwards.
    /// </summary>
    public async Task<long> RebuildAsync(long minChanges, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await LoadOnceAsync(cancellationToken);
            var head = await ReadHeadAsync(cancellationToken);
            if (_current is null || head - _current.Seq >= Math.Max(1, minChanges))
            {
                Replace(await BuildFileAsync(cancellationToken));
            }
            return _current!.Seq;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Encodes signal records as <see cref="Proto.SnapshotChunk"/>'s repeated field 1, one type per chunk, and hands each
    /// chunk on once it holds at least <paramref name="chunkBytes"/> bytes (or at <see cref="FlushAsync"/>).
    /// </summary>
    internal sealed class ChunkEncoder(int chunkBytes, Func<Proto.SignalType, int, ReadOnlyMemory<byte>, ValueTask> emit)
    {
        private readonly Dictionary<Proto.SignalType, (ArrayBufferWriter<byte> Buffer, int Count)> _open = [];

        public long Records { get; private set; }

        public async ValueTask AddAsync(Proto.SignalRecord record)
        {
            var type = record.Signal.Type;
            if (!_open.TryGetValue(type, out var open))
            {
                open = (new ArrayBufferWriter<byte>(chunkBytes + 4096), 0);
            }
            // A chunk holding just this record encodes as the record's field-1 entry (tag, length, record), which
            // is what concatenates into a chunk of many.
            new Proto.SnapshotChunk { Signals = { record } }.WriteTo(open.Buffer);
            open = (open.Buffer, open.Count + 1);
            Records++;
            if (open.Buffer.WrittenCount >= chunkBytes)
            {
                await emit(type, open.Count, open.Buffer.WrittenMemory);
                open.Buffer.ResetWrittenCount();
                open = (open.Buffer, 0);
            }
            _open[type] = open;
        }

        public async ValueTask FlushAsync()
        {
            foreach (var (type, open) in _open.OrderBy(o => o.Key))
            {
                if (open.Count > 0)
                {
                    await emit(type, open.Count, open.Buffer.WrittenMemory);
                    open.Buffer.ResetWrittenCount();
                }
            }
            _open.Clear();
        }
    }

    /// <summary>
    /// The records of <paramref name="signals"/> that have an active contribution among those read (a snapshot carries
    /// no tombstones), as <see cref="ProtoMapper"/> shows them.
    /// </summary>
    internal static IEnumerable<Proto.SignalRecord> LiveRecords(IEnumerable<SignalEntity> signals, IReadOnlyDictionary<string, MemberSummary> names, ProtoMapper.Timestamps timestamps)
    {
        foreach (var signal in signals)
        {
            if (signal.Contributions.Exists(c => c.Status == ContributionStatus.Active))
            {
                yield return ProtoMapper.ToProto(signal, names, timestamps);
            }
        }
    }

    private async Task<SnapshotFile> BuildFileAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var members = scope.ServiceProvider.GetRequiredService<MemberDirectory>();
        var reader = new ChangeReader(db);
        // The head first: every record read after is at least this new (see the class comment).
        var head = await reader.ReadHeadAsync(0, cancellationToken);
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, $"snapshot-{head.HeadSeq:D19}.bin");
        var temp = path + $".{Guid.NewGuid():N}.tmp";
        var chunks = new List<SnapshotChunkInfo>();
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: false))
            {
                await file.WriteAsync(Magic, cancellationToken);
                var encoder = new ChunkEncoder(options.Value.SnapshotChunkBytes, async (type, count, bytes) =>
                {
                    chunks.Add(new SnapshotChunkInfo(type, count, file.Position, bytes.Length));
                    await file.WriteAsync(bytes, cancellationToken);
                });
                long after = 0;
                while (true)
                {
                    var page = await reader.ReadSignalsAsync(after, SignalsPerRead, ids: null, SnapshotScope.AllMembers, cancellationToken);
                    if (page.Count == 0)
                    {
                        break;
                    }
                    after = page[^1].Id;
                    var names = await members.ForAsync(db, page, cancellationToken);
                    var timestamps = new ProtoMapper.Timestamps();
                    foreach (var record in LiveRecords(page, names, timestamps))
                    {
                        await encoder.AddAsync(record);
                    }
                    if (page.Count < SignalsPerRead)
                    {
                        break;
                    }
                }
                await encoder.FlushAsync();
                WriteFooter(file, new SnapshotHeader(epoch.Value, head.HeadSeq, head.HeadCommittedAt, time.GetUtcNow()), chunks);
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        var built = SnapshotFile.Open(path) ?? throw new InvalidOperationException($"The snapshot just written to {path} cannot be read back.");
        LogBuilt(logger, built.Seq, chunks.Sum(c => (long)c.Count), new FileInfo(path).Length, time.GetElapsedTime(started).TotalSeconds);
        return built;
    }

    /// <summary>Takes up the newest snapshot file left by an earlier run of this hub, when it belongs to this log; removes the rest.</summary>
    private async Task LoadOnceAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }
        _loaded = true;
        if (!Directory.Exists(Folder))
        {
            return;
        }
        var head = await ReadHeadAsync(cancellationToken);
        foreach (var path in Directory.EnumerateFiles(Folder).OrderDescending(StringComparer.Ordinal))
        {
            // A snapshot of another log (the database was replaced), or ahead of this one (restored from a backup), is not this log's state.
            var candidate = _current is null && path.EndsWith(".bin", StringComparison.Ordinal) ? SnapshotFile.Open(path) : null;
            if (candidate is not null && candidate.Epoch == epoch.Value && candidate.Seq <= head)
            {
                _current = candidate;
                continue;
            }
            candidate?.Release();
            TryDelete(path);
        }
    }

    private void Replace(SnapshotFile built)
    {
        var old = Interlocked.Exchange(ref _current, built);
        if (old is not null && old.Path != built.Path)
        {
            // Readers still holding a lease keep reading the open file; the name goes now.
            TryDelete(old.Path);
        }
        old?.Release();
    }

    private async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return (await new ChangeReader(scope.ServiceProvider.GetRequiredService<HubDbContext>()).ReadHeadAsync(0, cancellationToken)).HeadSeq;
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException e)
        {
            LogDeleteFailed(logger, path, e.Message);
        }
    }

    private static void WriteFooter(FileStream file, SnapshotHeader header, List<SnapshotChunkInfo> chunks)
    {
        var footer = new byte[(8 * 4) + 4 + (chunks.Count * 20)];
        var span = footer.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, header.Epoch);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], header.Seq);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], header.HeadCommittedAt?.UtcTicks ?? -1);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], header.BuiltAt.UtcTicks);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], chunks.Count);
        for (var i = 0; i < chunks.Count; i++)
        {
            var at = span[(36 + (i * 20))..];
            BinaryPrimitives.WriteInt32LittleEndian(at, (int)chunks[i].Type);
            BinaryPrimitives.WriteInt32LittleEndian(at[4..], chunks[i].Count);
            BinaryPrimitives.WriteInt64LittleEndian(at[8..], chunks[i].Offset);
            BinaryPrimitives.WriteInt32LittleEndian(at[16..], chunks[i].Length);
        }
        file.Write(footer);
        Span<byte> tail = stackalloc byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(tail, footer.Length);
        Magic.AsSpan(0, 8).CopyTo(tail[4..]);
        file.Write(tail);
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _current, null)?.Release();
        _gate.Dispose();
    }

    internal readonly record struct SnapshotHeader(long Epoch, long Seq, DateTimeOffset? HeadCommittedAt, DateTimeOffset BuiltAt);

    /// <summary>
    /// A snapshot file, open for reading, with its chunk index. Reference-counted: the store holds one reference while
    /// it is current and each reader one (<see cref="SnapshotLease"/>); the handle closes with the last.
    /// </summary>
    internal sealed class SnapshotFile
    {
        private readonly SafeFileHandle _handle;
        private int _references = 1;

        private SnapshotFile(string path, SafeFileHandle handle, SnapshotHeader header, IReadOnlyList<SnapshotChunkInfo> chunks)
        {
            Path = path;
            _handle = handle;
            Header = header;
            Chunks = chunks;
        }

        public string Path { get; }

        public SnapshotHeader Header { get; }

        public long Epoch => Header.Epoch;

        public long Seq => Header.Seq;

        public IReadOnlyList<SnapshotChunkInfo> Chunks { get; }

        /// <summary>Opens a snapshot file; null when it is not a complete one (a crash mid-write leaves only a .tmp, but be safe).</summary>
        public static SnapshotFile? Open(string path)
        {
            SafeFileHandle? handle = null;
            try
            {
                handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
                var length = RandomAccess.GetLength(handle);
                Span<byte> tail = stackalloc byte[12];
                if (length < Magic.Length + 12 || RandomAccess.Read(handle, tail, length - 12) != 12 || !tail[4..].SequenceEqual(Magic))
                {
                    handle.Dispose();
                    return null;
                }
                var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
                if (footerLength < 36 || footerLength > length - 12 - Magic.Length)
                {
                    handle.Dispose();
                    return null;
                }
                var footer = new byte[footerLength];
                RandomAccess.Read(handle, footer, length - 12 - footerLength);
                var span = footer.AsSpan();
                var committedTicks = BinaryPrimitives.ReadInt64LittleEndian(span[16..]);
                var header = new SnapshotHeader(
                    BinaryPrimitives.ReadInt64LittleEndian(span),
                    BinaryPrimitives.ReadInt64LittleEndian(span[8..]),
                    committedTicks < 0 ? null : new DateTimeOffset(committedTicks, TimeSpan.Zero),
                    new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(span[24..]), TimeSpan.Zero));
                var count = BinaryPrimitives.ReadInt32LittleEndian(span[32..]);
                if (footerLength != 36 + (count * 20))
                {
                    handle.Dispose();
                    return null;
                }
                var chunks = new SnapshotChunkInfo[count];
                for (var i = 0; i < count; i++)
                {
                    var at = span[(36 + (i * 20))..];
                    chunks[i] = new SnapshotChunkInfo(
                        (Proto.SignalType)BinaryPrimitives.ReadInt32LittleEndian(at), BinaryPrimitives.ReadInt32LittleEndian(at[4..]),
                        BinaryPrimitives.ReadInt64LittleEndian(at[8..]), BinaryPrimitives.ReadInt32LittleEndian(at[16..]));
                }
                return new SnapshotFile(path, handle, header, chunks);
            }
            catch (IOException)
            {
                handle?.Dispose();
                return null;
            }
        }

        /// <summary>Reads a chunk's bytes into <paramref name="buffer"/> (at least as long as the chunk).</summary>
        public int Read(SnapshotChunkInfo chunk, Span<byte> buffer)
        {
            var read = 0;
            while (read < chunk.Length)
            {
                var n = RandomAccess.Read(_handle, buffer[read..chunk.Length], chunk.Offset + read);
                if (n == 0)
                {
                    throw new IOException($"The snapshot file {Path} ended inside a chunk.");
                }
                read += n;
            }
            return read;
        }

        public SnapshotLease? TryAcquire()
        {
            var references = Volatile.Read(ref _references);
            while (references > 0)
            {
                var seen = Interlocked.CompareExchange(ref _references, references + 1, references);
                if (seen == references)
                {
                    return new SnapshotLease(this);
                }
                references = seen;
            }
            return null;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                _handle.Dispose();
            }
        }
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Built the signals snapshot at log position {Seq}: {Signals} signals, {Bytes} bytes in {Seconds:F1} s")]
    private static partial void LogBuilt(ILogger logger, long seq, long signals, long bytes, double seconds);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Could not delete the old snapshot file {Path}: {Reason}")]
    private static partial void LogDeleteFailed(ILogger logger, string path, string reason);
}

/// <summary>A reader's hold on a snapshot file: it stays open until the lease is disposed, even when a newer snapshot replaced it.</summary>
internal sealed class SnapshotLease(SnapshotStore.SnapshotFile file) : IDisposable
{
    private int _disposed;

    public SnapshotStore.SnapshotFile File => file;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            file.Release();
        }
    }
}

/// <summary>Rebuilds the snapshot in the background once the log has moved on enough (<see cref="HubOptions.SnapshotRebuildAfterChanges"/>).</summary>
internal sealed partial class SnapshotRebuilder(SnapshotStore snapshots, IOptions<HubOptions> options, TimeProvider time, ILogger<SnapshotRebuilder> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.SnapshotCheckInterval, time, stoppingToken);
                // Only once a snapshot exists (the first is made when first asked for): a hub nobody bootstraps from builds none.
                if (snapshots.CurrentSeq is not null)
                {
                    await snapshots.RebuildAsync(options.Value.SnapshotRebuildAfterChanges, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "Rebuilding the signals snapshot failed; the current one stays in use")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
