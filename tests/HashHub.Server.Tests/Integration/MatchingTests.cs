using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class MatchingTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private IssuedCredential _alpha = null!;
    private HubClient _a = null!;
    private HubClient _b = null!;
    private readonly Random _random = new(20261129);

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider);
        _alpha = await _hub.AddMemberAsync("Alpha Video");
        _a = await _hub.ConnectAsAsync(_alpha);
        _b = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Beta Social"));
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        _a.Dispose();
        _b.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task Match_NearPdqOfAnotherMembersTakedown_ReturnsSignalWithDistanceLabelsAndConfidence()
    {
        var pdq = RandomPdq(_random);
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Item(pdq, "behavior:glorification", "content_type:image")));

        // Another member's upload: the same picture re-encoded, 7 bits away.
        var response = await _b.Matching.MatchAsync(Query(FlipBits(pdq, 7)));

        Assert.That(response.Matches, Has.Count.EqualTo(1));
        var match = response.Matches[0];
        Assert.Multiple(() =>
        {
            Assert.That(match.Signal.Id, Is.EqualTo(submitted.Results[0].SignalId));
            Assert.That(match.Distance, Is.EqualTo(7));
            Assert.That(match.QueryIndex, Is.Zero);
            Assert.That(match.Signal.Labels, Is.EqualTo(new[] { "behavior:glorification", "content_type:image" }));
            Assert.That(match.Signal.Contributions.Single().Provenance.MemberName, Is.EqualTo("Alpha Video"));
            // One member: corroboration 0.5; closeness 1 - 7/64.
            Assert.That(match.Confidence, Is.EqualTo(Math.Round((1 - (7 / 64.0)) * 0.5, 4)));
        });
    }

    [Test]
    public async Task Match_SecondMemberAgrees_RaisesConfidence()
    {
        var md5 = RandomMd5();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5)));
        var one = await _b.Matching.MatchAsync(Query(md5));
        await _b.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:recruitment")));

        var two = await _b.Matching.MatchAsync(Query(md5));

        Assert.Multiple(() =>
        {
            Assert.That(one.Matches.Single().Confidence, Is.EqualTo(0.5));
            Assert.That(two.Matches.Single().Confidence, Is.EqualTo(0.75));
            Assert.That(two.Matches.Single().Signal.Labels, Does.Contain("behavior:recruitment"));
        });
    }

    [Test]
    public async Task Match_BeyondThreshold_MatchesOnlyWithLargerMaxDistance()
    {
        var pdq = RandomPdq(_random);
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(pdq)));
        var far = FlipBits(pdq, 40);

        var byDefault = await _b.Matching.MatchAsync(Query(far));
        var wide = Query(far);
        wide.MaxDistance = 45;
        var widened = await _b.Matching.MatchAsync(wide);

        Assert.That(byDefault.Matches, Is.Empty);
        Assert.That(widened.Matches.Single().Distance, Is.EqualTo(40));
    }

    [Test]
    public async Task Match_SeveralHashesOfOneUpload_ReportsClosestQueryPerSignal()
    {
        var pdq = RandomPdq(_random);
        var sha = RandomSha256();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(pdq), Item(sha)));

        var response = await _b.Matching.MatchAsync(Query(FlipBits(pdq, 20), FlipBits(pdq, 3), RandomMd5(), sha));

        Assert.That(response.Matches.Select(m => (m.Signal.Signal.Value, m.QueryIndex, m.Distance)),
            Is.EqualTo(new[] { (sha.Value, 3, 0), (pdq.Value, 1, 3) }), "closest first; the PDQ hit through its nearer query hash");
    }

    [Test]
    public async Task Match_AfterRetraction_NoLongerMatches()
    {
        var pdq = RandomPdq(_random);
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Item(pdq)));
        Assert.That((await _b.Matching.MatchAsync(Query(pdq))).Matches, Has.Count.EqualTo(1));

        await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = submitted.Results[0].ContributionId });

        Assert.That((await _b.Matching.MatchAsync(Query(pdq))).Matches, Is.Empty);
    }

    [Test]
    public async Task Match_InvalidRequest_InvalidArgumentNamingEachField()
    {
        var empty = await ContributionsTests.ViolationsOf(_b.Matching.MatchAsync(new Proto.MatchRequest()).ResponseAsync);
        var bad = Query(new Proto.Signal { Type = Proto.SignalType.Pdq, Value = "abc" }, new Proto.Signal { Type = Proto.SignalType.Unspecified, Value = "x" });
        var badFields = await ContributionsTests.ViolationsOf(_b.Matching.MatchAsync(bad).ResponseAsync);
        var tooFar = Query(RandomPdq(_random));
        tooFar.MaxDistance = 64;
        var far = await ContributionsTests.ViolationsOf(_b.Matching.MatchAsync(tooFar).ResponseAsync);
        var many = Query([.. Enumerable.Range(0, 65).Select(_ => RandomMd5())]);
        var tooMany = await ContributionsTests.ViolationsOf(_b.Matching.MatchAsync(many).ResponseAsync);

        Assert.Multiple(() =>
        {
            Assert.That(empty.Select(v => v.Field), Is.EqualTo(new[] { "signals" }));
            Assert.That(badFields.Select(v => v.Field), Is.EqualTo(new[] { "signals[0].value", "signals[1].type" }));
            Assert.That(far.Single().Field, Is.EqualTo("max_distance"));
            Assert.That(far.Single().Description, Does.Contain("0 to 63"));
            Assert.That(tooMany.Select(v => v.Field), Does.Contain("signals"));
        });
    }

    [Test]
    public async Task ReportOutcomes_ValidBatch_RecordedOnceEvenWhenRetried()
    {
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var request = new Proto.ReportOutcomesRequest { IdempotencyKey = "outcomes-" + Guid.NewGuid().ToString("N") };
        request.Reports.Add(new Proto.OutcomeReport { SignalId = submitted.Results[0].SignalId, Outcome = Proto.MatchOutcome.Matched, Count = 3 });
        request.Reports.Add(new Proto.OutcomeReport
        {
            SignalId = submitted.Results[0].SignalId,
            Outcome = Proto.MatchOutcome.Actioned,
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-3)),
        });

        var first = await _b.Matching.ReportOutcomesAsync(request);
        var retry = await _b.Matching.ReportOutcomesAsync(request);

        Assert.Multiple(async () =>
        {
            Assert.That(first.Recorded, Is.EqualTo(2));
            Assert.That(first.Replayed, Is.False);
            Assert.That(retry.Recorded, Is.Zero);
            Assert.That(retry.Replayed, Is.True);
            var stored = await StoredOutcomesAsync(request.IdempotencyKey);
            Assert.That(stored.Select(o => (o.Outcome, o.Count)), Is.EqualTo(new[] { (MatchOutcome.Matched, 3), (MatchOutcome.Actioned, 1) }));
        });
    }

    [Test]
    public async Task ReportOutcomes_UnknownSignalOrBadFields_InvalidArgumentAndNothingRecorded()
    {
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var request = new Proto.ReportOutcomesRequest { IdempotencyKey = "outcomes-" + Guid.NewGuid().ToString("N") };
        request.Reports.Add(new Proto.OutcomeReport { SignalId = submitted.Results[0].SignalId, Outcome = Proto.MatchOutcome.FalsePositive });
        request.Reports.Add(new Proto.OutcomeReport { SignalId = "987654321", Outcome = Proto.MatchOutcome.Matched });
        var bad = new Proto.ReportOutcomesRequest { IdempotencyKey = "outcomes-" + Guid.NewGuid().ToString("N") };
        bad.Reports.Add(new Proto.OutcomeReport
        {
            SignalId = "x",
            Outcome = Proto.MatchOutcome.Unspecified,
            Count = -1,
            ObservedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        });

        var unknown = await ContributionsTests.ViolationsOf(_b.Matching.ReportOutcomesAsync(request).ResponseAsync);
        var fields = await ContributionsTests.ViolationsOf(_b.Matching.ReportOutcomesAsync(bad).ResponseAsync);

        Assert.Multiple(async () =>
        {
            Assert.That(unknown.Single().Field, Is.EqualTo("reports[1].signal_id"));
            Assert.That(fields.Select(v => v.Field), Is.EqualTo(new[] { "reports[0].signal_id", "reports[0].outcome", "reports[0].count", "reports[0].observed_at" }));
            Assert.That(await StoredOutcomesAsync(request.IdempotencyKey), Is.Empty, "an invalid batch records nothing");
        });
    }

    [Test]
    public async Task ReportOutcomes_ClientWithoutFeedbackScope_PermissionDenied()
    {
        using var reader = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Reader Only", scopes: [HubScopes.Read]));
        var request = new Proto.ReportOutcomesRequest { IdempotencyKey = "k1" };
        request.Reports.Add(new Proto.OutcomeReport { SignalId = "1", Outcome = Proto.MatchOutcome.Matched });

        var ex = Assert.ThrowsAsync<RpcException>(() => reader.Matching.ReportOutcomesAsync(request).ResponseAsync);

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
    }

    private async Task<List<MatchOutcomeEntity>> StoredOutcomesAsync(string key)
    {
        await using var scope = _hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        return await db.MatchOutcomes.AsNoTracking().Where(o => o.BatchKey == key).OrderBy(o => o.Ordinal).ToListAsync();
    }

    private static Proto.MatchRequest Query(params Proto.Signal[] signals)
    {
        var request = new Proto.MatchRequest();
        request.Signals.AddRange(signals);
        return request;
    }

    /// <summary>The same PDQ hash with its first <paramref name="bits"/> bits flipped: that many bits away.</summary>
    private static Proto.Signal FlipBits(Proto.Signal pdq, int bits)
    {
        var bytes = Convert.FromHexString(pdq.Value);
        for (var i = 0; i < bits; i++)
        {
            bytes[i / 8] ^= (byte)(1 << (i % 8));
        }
        return new Proto.Signal { Type = Proto.SignalType.Pdq, Value = Convert.ToHexStringLower(bytes) };
    }
}
