using System.Buffers;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Google.Protobuf;
using HashHub.Server.Contributions;
using HashHub.Server.Membership;
using HashHub.Server.Sharing;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Sync;

/// <summary>
/// A <see cref="Proto.SnapshotChunk"/> as the hub sends it: records already encoded as the message's field 1 (straight
/// from the snapshot file), then the fields of <see cref="Tail"/>. Protobuf merges concatenated encodings (repeated
/// fields append), so a client reads one SnapshotChunk.
/// </summary>
internal sealed record RawSnapshotChunk(ReadOnlyMemory<byte> Records, Proto.SnapshotChunk? Tail = null);

/// <summary>
/// Snapshots/ReadSnapshot (snapshots.proto). Not bound through the generated base class: its response is written from
/// bytes prepared ahead (<see cref="RawSnapshotChunk"/>), which the generated marshaller would have to parse and encode
/// again, the very work a snapshot is there to save. <see cref="SnapshotsMethodProvider"/> binds it with
/// <see cref="SnapshotsMethodProvider.ChunkMarshaller"/>; the contract clients see is unchanged.
/// </summary>
[Authorize(Policy = Auth.HubPolicies.Read)]
[BindServiceMethod(typeof(SnapshotsGrpcService), nameof(BindService))]
internal sealed class SnapshotsGrpcService(HubDbContext db, HubEpoch epoch, SnapshotStore snapshots, MemberDirectory members, Microsoft.Extensions.Options.IOptions<HubOptions> options)
{
    /// <summary>The contract, which gRPC reflection finds here as it does on a generated binding.</summary>
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => Proto.Snapshots.Descriptor;

    /// <summary>
    /// Where gRPC's binders look for a service's methods (the BindServiceMethod attribute). It binds none:
    /// <see cref="SnapshotsMethodProvider"/> does, with its own marshaller.
    /// </summary>
    public static void BindService(ServiceBinderBase binder, SnapshotsGrpcService? service)
    {
    }

    /// <summary>Ids of the caller's extra signals read per query.</summary>
    private const int ExtraPerRead = 1_000;

    public async Task ReadSnapshot(Proto.ReadSnapshotRequest request, IServerStreamWriter<RawSnapshotChunk> stream, ServerCallContext context)
    {
        var caller = Caller.From(context);
        var ct = context.CancellationToken;
        var types = SyncGrpcService.ParseTypes(request.SignalTypes, "signal_types").Select(SignalTypeMap.ToProto).ToHashSet();
        // The visibility epoch before anything the caller sees is read: if its groups change meanwhile, the cursor
        // says "resync required" at once instead of going on from a view it no longer has.
        var view = await SyncGrpcService.ViewOfAsync(db, caller, ct);
        using var lease = await snapshots.AcquireAsync(ct);
        var file = lease.File;
        long total = 0;

        // The all-members part, from the file as it is.
        var buffer = ArrayPool<byte>.Shared.Rent(file.Chunks.Select(c => c.Length).DefaultIfEmpty(1).Max());
        try
        {
            foreach (var chunk in file.Chunks)
            {
                if (types.Count > 0 && !types.Contains(chunk.Type))
                {
                    continue;
                }
                var length = file.Read(chunk, buffer);
                await stream.WriteAsync(new RawSnapshotChunk(buffer.AsMemory(0, length)), ct);
                total += chunk.Count;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // Then, read now, the signals the caller sees more of than every member does, with all it sees of them.
        var reader = new ChangeReader(db);
        var viewer = Visibility.ViewerOf(caller);
        var encoder = new SnapshotStore.ChunkEncoder(options.Value.SnapshotChunkBytes, async (_, _, bytes) =>
            await stream.WriteAsync(new RawSnapshotChunk(bytes), ct));
        var extra = await reader.ReadSignalsSeenBeyondAllMembersAsync(viewer, ct);
        foreach (var ids in extra.Chunk(ExtraPerRead))
        {
            var signals = (await reader.ReadSignalsAsync(0, ids.Length, ids, SnapshotScope.For(viewer), ct))
                .Where(s => types.Count == 0 || types.Contains(SignalTypeMap.ToProto(s.Type)))
                .ToList();
            var names = await members.ForAsync(db, signals, ct);
            foreach (var record in SnapshotStore.LiveRecords(signals, names, new ProtoMapper.Timestamps()))
            {
                await encoder.AddAsync(record);
            }
        }
        await encoder.FlushAsync();
        total += encoder.Records;

        var head = await reader.ReadHeadAsync(file.Seq, ct);
        await stream.WriteAsync(new RawSnapshotChunk(ReadOnlyMemory<byte>.Empty, new Proto.SnapshotChunk
        {
            Cursor = new Cursor(epoch.Value, file.Seq, view).Encode(),
            Head = SyncGrpcService.ToProto(head),
            TotalSignals = total,
        }), ct);
    }
}

/// <summary>Binds <see cref="SnapshotsGrpcService.ReadSnapshot"/> at /hashhub.v1.Snapshots/ReadSnapshot with a marshaller that writes prepared bytes.</summary>
internal sealed class SnapshotsMethodProvider : IServiceMethodProvider<SnapshotsGrpcService>
{
    public static readonly Marshaller<RawSnapshotChunk> ChunkMarshaller = new(
        static (chunk, context) =>
        {
            var tailSize = chunk.Tail?.CalculateSize() ?? 0;
            context.SetPayloadLength(chunk.Records.Length + tailSize);
            var writer = context.GetBufferWriter();
            writer.Write(chunk.Records.Span);
            if (chunk.Tail is not null)
            {
                chunk.Tail.WriteTo(writer);
            }
            context.Complete();
        },
        static _ => throw new NotSupportedException("The hub only writes snapshot chunks."));

    public static readonly Method<Proto.ReadSnapshotRequest, RawSnapshotChunk> ReadSnapshotMethod = new(
        MethodType.ServerStreaming,
        Proto.Snapshots.Descriptor.FullName,
        "ReadSnapshot",
        Marshallers.Create(static (Proto.ReadSnapshotRequest r) => r.ToByteArray(), static bytes => Proto.ReadSnapshotRequest.Parser.ParseFrom(bytes)),
        ChunkMarshaller);

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<SnapshotsGrpcService> context)
    {
        // The class's attributes ([Authorize]) are the endpoint's metadata, as for a generated binding.
        var metadata = typeof(SnapshotsGrpcService).GetCustomAttributes(inherit: true).ToList();
        context.AddServerStreamingMethod(ReadSnapshotMethod, metadata, static (service, request, stream, call) => service.ReadSnapshot(request, stream, call));
    }
}
