using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using HashHub.Client.Auth;
using HashHub.Client.Contributing;
using HashHub.Client.Matching;
using HashHub.Client.Resilience;
using HashHub.Client.Store;
using HashHub.Client.Sync;
using HashHub.Core.Signals;
using HashHub.Protos.V1;
using Microsoft.Extensions.Logging;
using Outcome = HashHub.Client.Matching.MatchOutcome;
using Proto = HashHub.Protos.V1;

namespace HashHub.Client;

/// <summary>
/// A member platform's connection to its HashHub: sync the shared list into a local store, match uploads against it
/// locally, and contribute, retract and relabel takedowns. Content is hashed on the member's machine and never sent.
/// </summary>
/// <remarks>
/// Thread-safe: matching runs concurrently with sync and with other calls. Create one per process and dispose it at
/// shutdown. Every call to the hub carries a bearer token obtained with the member's client credentials, renewed
/// before it expires, and goes through the retry / circuit breaker pipeline of <see cref="HubClientOptions.Resilience"/>.
/// </remarks>
/// <example>
/// <code>
/// await using var hub = await HashHubClient.OpenAsync(options);
/// await hub.SyncAsync();
/// var result = await hub.MatchAsync("upload.jpg");
/// if (result.Action == MatchAction.Block) { /* refuse the upload */ }
/// </code>
/// </example>
public sealed partial class HashHubClient : IAsyncDisposable
{
    private readonly HubClientOptions _options;
    private readonly GrpcChannel _channel;
    private readonly TokenSource _tokens;
    private readonly HubCallInterceptor _interceptor;
    private readonly Contributions.ContributionsClient _contributions;
    private readonly Proto.Matching.MatchingClient _matching;
    private readonly LocalStore? _store;
    private readonly LocalIndex _index = new();
    private readonly SyncEngine? _sync;
    private readonly ILogger _logger;

    private HashHubClient(HubClientOptions options, LocalStore? store)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger("HashHub.Client");
        _tokens = new TokenSource(options, _logger);
        _channel = GrpcChannel.ForAddress(options.HubAddress!, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                // Pings find a dead connection under a quiet live subscription (a hub killed without a FIN).
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = TimeSpan.FromSeconds(10),
            },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            LoggerFactory = options.LoggerFactory,
        });
        _interceptor = new HubCallInterceptor(_tokens, options.Resilience, options.TimeProvider, _logger);
        var invoker = _channel.Intercept(_interceptor);
        Invoker = invoker;
        _contributions = new Contributions.ContributionsClient(invoker);
        _matching = new Proto.Matching.MatchingClient(invoker);
        _store = store;
        if (store is not null)
        {
            _sync = new SyncEngine(new Protos.V1.Sync.SyncClient(invoker), new Protos.V1.Snapshots.SnapshotsClient(invoker), _tokens, store, _index, options, _logger);
        }
    }

    /// <summary>
    /// Validates the options, opens (or creates) the local store when <see cref="HubClientOptions.StorePath"/> is set,
    /// and loads the match index from it. No call to the hub is made until one is needed.
    /// </summary>
    /// <exception cref="ArgumentException">When the options are invalid.</exception>
    public static Task<HashHubClient> OpenAsync(HubClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var store = options.StorePath is null ? null : LocalStore.Open(options.StorePath);
        try
        {
            var client = new HashHubClient(options, store);
            if (store is not null)
            {
                client._index.Load(store.ReadActive());
            }
            return Task.FromResult(client);
        }
        catch
        {
            store?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Brings the local store up to date: the first sync bootstraps everything the member may see, later ones read
    /// only the changes after the saved cursor. Each page and its cursor are committed together, so an interrupted
    /// sync resumes where it stopped without losing or repeating a change. When the hub answers "resync required",
    /// the local copy is replaced by a fresh bootstrap and <see cref="SyncResult.Resynced"/> says so.
    /// </summary>
    /// <exception cref="InvalidOperationException">When no store is configured.</exception>
    /// <exception cref="RpcException">When the hub cannot be reached after the retries, or refuses the credentials.</exception>
    public Task<SyncResult> SyncAsync(CancellationToken cancellationToken = default) =>
        RequireSync().SyncAsync(progress: null, cancellationToken);

    /// <summary>
    /// As <see cref="SyncAsync(CancellationToken)"/>, reporting the totals so far after each committed page but the
    /// last (a long bootstrap shows progress; tools display it). Each report's <see cref="SyncResult.Lag"/> bounds what
    /// remains from above (see <see cref="SyncLag.ChangesBehind"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">When no store is configured.</exception>
    /// <exception cref="RpcException">When the hub cannot be reached after the retries, or refuses the credentials.</exception>
    public Task<SyncResult> SyncAsync(IProgress<SyncResult> progress, CancellationToken cancellationToken) =>
        RequireSync().SyncAsync(progress, cancellationToken);

    /// <summary>
    /// Live sync: keeps a subscription to the hub open and applies each change as it commits (typically well under a
    /// second after the contributing member's acknowledgement). Reconnects with backoff after any failure (a hub
    /// restart, a network cut) and resumes from the saved cursor. Runs until <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="onEvent">
    /// Optional: called on connect, on each applied burst, on catch-up, on a resync and on each disconnect. An
    /// <see cref="SyncEventKind.Applied"/> event comes after its burst is committed to the store and applied to the match
    /// index, so from then on <see cref="MatchAsync(string, CancellationToken)"/> sees the signals it names. It is called
    /// on the sync loop: a slow handler delays the next burst.
    /// </param>
    /// <param name="cancellationToken">Stops live sync; the task then completes normally. Stop it and await it before disposing the client.</param>
    /// <exception cref="InvalidOperationException">When no store is configured.</exception>
    public Task RunLiveSyncAsync(Action<SyncEvent>? onEvent = null, CancellationToken cancellationToken = default) =>
        RequireSync().RunLiveAsync(onEvent, cancellationToken);

    /// <summary>
    /// Checks the credentials by obtaining an access token now (tools call it once at login, before saving them).
    /// </summary>
    /// <exception cref="RpcException">Unauthenticated when the hub refuses the credentials; Unavailable when it cannot be reached.</exception>
    public async Task VerifyCredentialsAsync(CancellationToken cancellationToken = default) =>
        await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>What the local store and the index hold.</summary>
    /// <exception cref="InvalidOperationException">When no store is configured.</exception>
    public StoreStatus GetStoreStatus()
    {
        var store = RequireStore();
        var counts = store.ReadCounts();
        return new StoreStatus(store.Path, counts.Cursor, counts.Signals, counts.Active, counts.ChangesApplied, counts.LastSyncedAt, _index.Count, counts.Lag);
    }

    /// <summary>
    /// Asks the hub how far the local store is behind it now: the changes committed after the saved cursor (an upper
    /// bound of what the next sync applies, see <see cref="SyncLag.ChangesBehind"/>) and how much newer the hub's newest
    /// change is than the cursor's. Reads no change and writes nothing. <see cref="GetStoreStatus"/> gives the figure
    /// saved at the last sync, without the hub.
    /// </summary>
    /// <exception cref="InvalidOperationException">When no store is configured.</exception>
    /// <exception cref="RpcException">
    /// When the hub cannot be reached after the retries; FailedPrecondition "resync required" when the saved cursor no
    /// longer fits the hub (the next sync starts over).
    /// </exception>
    public Task<SyncLag> GetLagAsync(CancellationToken cancellationToken = default) => RequireSync().GetLagAsync(cancellationToken);

    /// <summary>
    /// Hashes an image file locally (PDQ with its eight rotations and flips, MD5, SHA-256) and matches the hashes
    /// against the local index, or on the hub with <see cref="HubClientOptions.MatchOnHub"/>. A file that is not a
    /// decodable image is matched by its exact hashes only. The content never leaves the member.
    /// </summary>
    /// <exception cref="InvalidOperationException">When matching locally and no store is configured.</exception>
    /// <exception cref="FileNotFoundException">When the file does not exist.</exception>
    /// <exception cref="RpcException">Hub-side matching only: when the hub cannot be reached after the retries.</exception>
    public async Task<MatchResult> MatchAsync(string imagePath, CancellationToken cancellationToken = default)
    {
        RequireMatcher();
        var hashes = await ContentHasher.HashFileAsync(imagePath, cancellationToken).ConfigureAwait(false);
        return await MatchAsync(hashes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="MatchAsync(string, CancellationToken)"/>, for content in a stream (read from its current position; not disposed).</summary>
    /// <exception cref="InvalidOperationException">When matching locally and no store is configured.</exception>
    public async Task<MatchResult> MatchAsync(Stream content, CancellationToken cancellationToken = default)
    {
        RequireMatcher();
        var hashes = await ContentHasher.HashStreamAsync(content, "stream", cancellationToken).ConfigureAwait(false);
        return await MatchAsync(hashes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reports what the member did about a match (matched, actioned, false positive) for the consortium's
    /// transparency figures. Needs the credential's <c>hashhub.feedback</c> scope. Sent with a fresh idempotency key,
    /// so a retry after a lost answer counts once.
    /// </summary>
    /// <param name="signalId">The matched signal (<see cref="HubMatch.SignalId"/>).</param>
    /// <param name="outcome">What happened.</param>
    /// <param name="count">How many pieces of content this report stands for (1 to 1,000,000), so busy members can aggregate.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="RpcException">InvalidArgument for an unknown signal id or count; PermissionDenied without the feedback scope.</exception>
    public async Task ReportOutcomeAsync(string signalId, Outcome outcome, int count = 1, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(signalId);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!Enum.IsDefined(outcome))
        {
            throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "unknown outcome");
        }
        var request = new ReportOutcomesRequest { IdempotencyKey = "sdk-" + Guid.NewGuid().ToString("N") };
        request.Reports.Add(new OutcomeReport
        {
            SignalId = signalId,
            Outcome = (Proto.MatchOutcome)(int)outcome,
            Count = count,
            ObservedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_options.TimeProvider.GetUtcNow()),
        });
        await _matching.ReportOutcomesAsync(request, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>
    /// Hashes content locally and contributes its hashes (PDQ when it is an image of sufficient quality, MD5 and
    /// SHA-256 always) as one all-or-nothing batch with a fresh idempotency key, so a retry after a lost answer
    /// records it once.
    /// </summary>
    /// <param name="imagePath">The content taken down.</param>
    /// <param name="labels">At least one label key from the hub's taxonomy, for example <c>behavior:glorification</c>.</param>
    /// <param name="provenance">How the member came across it; default: an upload.</param>
    /// <param name="sharingGroupIds">
    /// Optional sharing scope: the ids of sharing groups (the hub's <c>grp_...</c> ids) whose members alone see the
    /// contribution (admins see everything); null or empty shares it with every member. The member must belong to each
    /// group named.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="RpcException">
    /// InvalidArgument with the offending fields (read them with <see cref="HubErrors.FieldViolations"/>): an unknown
    /// label (<c>items[i].labels[j]</c>), a sharing group that does not exist or that the member is not in
    /// (<c>items[i].sharing_group_ids[j]</c>, the j-th id of <paramref name="sharingGroupIds"/>: the hub gives the same
    /// answer for both); PermissionDenied without the write scope.
    /// </exception>
    public async Task<ContributionReceipt> ContributeAsync(
        string imagePath, IEnumerable<string> labels, ContributionProvenance? provenance = null, IEnumerable<string>? sharingGroupIds = null,
        CancellationToken cancellationToken = default)
    {
        var hashes = await ContentHasher.HashFileAsync(imagePath, cancellationToken).ConfigureAwait(false);
        return await SubmitAsync(hashes, labels, provenance, sharingGroupIds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="ContributeAsync(string, IEnumerable{string}, ContributionProvenance?, IEnumerable{string}?, CancellationToken)"/>, for content in a stream.</summary>
    public async Task<ContributionReceipt> ContributeAsync(
        Stream content, IEnumerable<string> labels, ContributionProvenance? provenance = null, IEnumerable<string>? sharingGroupIds = null,
        CancellationToken cancellationToken = default)
    {
        var hashes = await ContentHasher.HashStreamAsync(content, "stream", cancellationToken).ConfigureAwait(false);
        return await SubmitAsync(hashes, labels, provenance, sharingGroupIds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Retracts one of the member's own contributions. When no other member's contribution remains active, the signal
    /// is retracted for everyone and every member's next sync removes it from its index. Retracting twice is harmless.
    /// </summary>
    /// <exception cref="RpcException">NotFound for an unknown id; PermissionDenied for another member's contribution.</exception>
    public async Task RetractAsync(string contributionId, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(contributionId);
        await _contributions.RetractContributionAsync(
            new RetractContributionRequest { ContributionId = contributionId, Reason = reason ?? string.Empty },
            cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>Retracts every contribution of a receipt (all the hashes of one piece of content).</summary>
    public async Task RetractAsync(ContributionReceipt receipt, string? reason = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        foreach (var signal in receipt.Signals)
        {
            await RetractAsync(signal.ContributionId, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Replaces the labels of one of the member's own active contributions.</summary>
    /// <exception cref="RpcException">InvalidArgument for an unknown label; PermissionDenied for another member's contribution.</exception>
    public async Task RelabelAsync(string contributionId, IEnumerable<string> labels, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(contributionId);
        ArgumentNullException.ThrowIfNull(labels);
        var request = new UpdateContributionLabelsRequest { ContributionId = contributionId };
        request.Labels.AddRange(labels);
        await _contributions.UpdateContributionLabelsAsync(request, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        _tokens.Dispose();
        _store?.Dispose();
        return ValueTask.CompletedTask;
    }

    internal LocalStore? Store => _store;

    /// <summary>Calls through the SDK's token and resilience pipeline (tests).</summary>
    internal CallInvoker Invoker { get; }

    internal LocalIndex Index => _index;

    internal TokenSource Tokens => _tokens;

    internal HubCallInterceptor Interceptor => _interceptor;

    /// <summary>The raw Contributions client through the SDK's pipeline (tests).</summary>
    internal Contributions.ContributionsClient ContributionsClient => _contributions;

    private async Task<ContributionReceipt> SubmitAsync(
        LocalHashes hashes, IEnumerable<string> labels, ContributionProvenance? provenance, IEnumerable<string>? sharingGroupIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var labelList = labels.ToList();
        // Sent as given, so that the hub's field paths (sharing_group_ids[j]) index the caller's own list.
        var groupList = sharingGroupIds?.ToList() ?? [];
        var source = provenance ?? new ContributionProvenance();
        // One key per piece of content per call: the interceptor resends the same request object, so a lost answer
        // never records the contribution twice.
        var key = "sdk-" + Guid.NewGuid().ToString("N");
        var request = new SubmitContributionsRequest { IdempotencyKey = key };
        var signals = new List<(string Type, string Value)>();
        if (hashes.Pdq is { } pdq && pdq.Quality >= PdqSignalType.DefaultMinQuality)
        {
            signals.Add(("pdq", hashes.PdqHex!));
            request.Items.Add(Item(new Protos.V1.Signal { Type = Protos.V1.SignalType.Pdq, Value = hashes.PdqHex, Quality = pdq.Quality }));
        }
        signals.Add(("md5", hashes.Exact.Md5));
        request.Items.Add(Item(new Protos.V1.Signal { Type = Protos.V1.SignalType.Md5, Value = hashes.Exact.Md5 }));
        signals.Add(("sha256", hashes.Exact.Sha256));
        request.Items.Add(Item(new Protos.V1.Signal { Type = Protos.V1.SignalType.Sha256, Value = hashes.Exact.Sha256 }));

        var response = await _contributions.SubmitContributionsAsync(request, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
        var results = signals.Zip(response.Results, (s, r) => new ContributedSignal(s.Type, s.Value, r.SignalId, r.ContributionId, r.SignalCreated, r.Held)).ToList();
        LogContributed(_logger, results.Count, key);
        return new ContributionReceipt(key, results, response.Replayed, hashes.ToPublic());

        ContributionInput Item(Protos.V1.Signal signal)
        {
            var item = new ContributionInput
            {
                Signal = signal,
                SourceKind = (SourceKind)(int)source.Source,
                IncidentId = source.IncidentId ?? string.Empty,
                CaseReference = source.CaseReference ?? string.Empty,
                Note = source.Note ?? string.Empty,
            };
            item.Labels.AddRange(labelList);
            item.SharingGroupIds.AddRange(groupList);
            return item;
        }
    }

    private async Task<MatchResult> MatchAsync(LocalHashes hashes, CancellationToken cancellationToken) =>
        _options.MatchOnHub ? await MatchOnHubAsync(hashes, cancellationToken).ConfigureAwait(false) : MatchLocally(hashes);

    /// <summary>Sends only the hashes: the eight PDQ variants (so a rotated or mirrored copy matches), MD5 and SHA-256.</summary>
    private async Task<MatchResult> MatchOnHubAsync(LocalHashes hashes, CancellationToken cancellationToken)
    {
        var request = new MatchRequest();
        var types = new List<string>();
        if (hashes.Pdq is not null)
        {
            foreach (var variant in hashes.Pdq.All.Select(h => h.ToHex()).Distinct(StringComparer.Ordinal))
            {
                request.Signals.Add(new Proto.Signal { Type = Proto.SignalType.Pdq, Value = variant });
                types.Add("pdq");
            }
            if (_options.PdqMatchRadius != PdqSignalType.DefaultThreshold)
            {
                request.MaxDistance = _options.PdqMatchRadius;
            }
        }
        request.Signals.Add(new Proto.Signal { Type = Proto.SignalType.Md5, Value = hashes.Exact.Md5 });
        types.Add("md5");
        request.Signals.Add(new Proto.Signal { Type = Proto.SignalType.Sha256, Value = hashes.Exact.Sha256 });
        types.Add("sha256");
        var response = await _matching.MatchAsync(request, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
        var matches = response.Matches
            .Where(m => m.Signal is { Status: SignalStatus.Active })
            .Select(m => ToMatch(m.Signal, types[m.QueryIndex], m.Distance, m.Confidence))
            .ToList();
        return Result(hashes.ToPublic(), matches);
    }

    private MatchResult MatchLocally(LocalHashes hashes)
    {
        var hits = new Dictionary<int, (string Type, int Distance)>();
        if (hashes.Pdq is not null)
        {
            foreach (var m in _index.QueryPdq(hashes.PdqVariants, _options.PdqMatchRadius))
            {
                hits[m.Id] = ("pdq", m.Distance);
            }
        }
        foreach (var (type, value) in new[] { ("md5", hashes.Exact.Md5), ("sha256", hashes.Exact.Sha256) })
        {
            foreach (var m in _index.QueryExact(type, value))
            {
                hits[m.Id] = (type, 0);
            }
        }
        var records = hits.Count == 0 ? [] : _store!.ReadRecords(hits.Keys);
        var matches = new List<HubMatch>();
        foreach (var (id, (type, distance)) in hits)
        {
            // A retraction committed between the index lookup and this read: the signal no longer matches.
            if (records.TryGetValue(id, out var stored) && stored.Active)
            {
                matches.Add(ToMatch(stored.Record, type, distance, hubConfidence: null));
            }
        }
        return Result(hashes.ToPublic(), matches);
    }

    private HubMatch ToMatch(SignalRecord record, string type, int distance, double? hubConfidence)
    {
        var contributors = record.Contributions
            .Where(c => c.Status == ContributionStatus.Active)
            .Select(c => new Contributor(
                c.Provenance?.MemberId ?? string.Empty,
                c.Provenance?.MemberName ?? string.Empty,
                [.. c.Labels],
                c.Provenance?.MemberStatus is null or MemberStatus.Active or MemberStatus.Unspecified,
                c.Provenance?.ContributedAt?.ToDateTimeOffset() ?? default))
            .ToList();
        var vouching = contributors.Where(c => c.InGoodStanding).Select(c => c.MemberId).Distinct(StringComparer.Ordinal).Count();
        // The hub computes the same formula; its own answer is used for hub-side matches.
        var confidence = hubConfidence ?? Core.Matching.MatchConfidence.Compute(SignalTypes.Find(type)!, distance, vouching);
        var labels = record.Labels.ToList();
        return new HubMatch(
            record.Id, type, record.Signal.Value, distance, labels, contributors, confidence,
            vouching > 0 ? MatchStatus.Active : MatchStatus.ContributorsSuspended,
            _options.Policy.Decide(labels, confidence));
    }

    private static MatchResult Result(ContentHashes hashes, List<HubMatch> matches)
    {
        matches.Sort((a, b) => b.Action != a.Action ? b.Action.CompareTo(a.Action) : b.Confidence.CompareTo(a.Confidence));
        var action = matches.Count == 0 ? MatchAction.Allow : matches.Max(m => m.Action);
        return new MatchResult(hashes, matches, action);
    }

    private LocalStore RequireStore() =>
        _store ?? throw new InvalidOperationException("This client has no local store: set HubClientOptions.StorePath to sync and match locally.");

    private void RequireMatcher()
    {
        if (!_options.MatchOnHub)
        {
            RequireStore();
        }
    }

    private SyncEngine RequireSync()
    {
        RequireStore();
        return _sync!;
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Contributed {Count} signals (idempotency key {Key})")]
    private static partial void LogContributed(ILogger logger, int count, string key);
}
