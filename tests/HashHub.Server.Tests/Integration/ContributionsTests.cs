using Google.Rpc;
using Grpc.Core;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class ContributionsTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private IssuedCredential _alpha = null!;
    private IssuedCredential _beta = null!;
    private HubClient _a = null!;
    private HubClient _b = null!;
    private readonly Random _random = new(20261128);

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider, new Dictionary<string, string?> { ["Hub:MaxBatchSize"] = "50" });
        _alpha = await _hub.AddMemberAsync("Alpha Video");
        _beta = await _hub.AddMemberAsync("Beta Social");
        _a = await _hub.ConnectAsAsync(_alpha);
        _b = await _hub.ConnectAsAsync(_beta);
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        _a.Dispose();
        _b.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task Submit_ValidBatch_StoresSignalsWithProvenanceFromToken()
    {
        var pdq = RandomPdq(_random);
        var item = Item(pdq, "behavior:glorification", "content_type:image");
        item.SourceKind = Proto.SourceKind.Livestream;
        item.IncidentId = "inc-2026-01";
        item.CaseReference = "CASE-881";
        item.Note = "re-upload of attack footage";

        var response = await _a.Contributions.SubmitContributionsAsync(Batch(item, Item(RandomMd5()), Item(RandomSha256())));

        Assert.That(response.Results, Has.Count.EqualTo(3));
        Assert.That(response.Results.All(r => r.SignalCreated && !r.UpdatedExisting), Is.True);
        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = response.Results[0].SignalId });
        Assert.Multiple(() =>
        {
            Assert.That(record.Signal.Value, Is.EqualTo(pdq.Value));
            Assert.That(record.Signal.Quality, Is.EqualTo(90));
            Assert.That(record.Status, Is.EqualTo(Proto.SignalStatus.Active));
            Assert.That(record.Labels, Is.EqualTo(new[] { "behavior:glorification", "content_type:image" }));
            var c = record.Contributions.Single();
            Assert.That(c.Provenance.MemberId, Is.EqualTo(_alpha.MemberId));
            Assert.That(c.Provenance.MemberName, Is.EqualTo("Alpha Video"));
            Assert.That(c.Provenance.SourceKind, Is.EqualTo(Proto.SourceKind.Livestream));
            Assert.That(c.Provenance.IncidentId, Is.EqualTo("inc-2026-01"));
            Assert.That(c.Provenance.CaseReference, Is.EqualTo("CASE-881"));
            Assert.That(c.Provenance.Note, Is.EqualTo("re-upload of attack footage"));
            Assert.That(c.Provenance.ContributedAt.ToDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
        });
    }

    [Test]
    public async Task Submit_UpperCaseHex_IsStoredLowerCaseAndFoundByValue()
    {
        var md5 = RandomMd5();
        var upper = new Proto.Signal { Type = md5.Type, Value = md5.Value.ToUpperInvariant() };
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(upper)));

        var record = await _b.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = md5 });

        Assert.That(record.Signal.Value, Is.EqualTo(md5.Value));
    }

    [Test]
    public async Task Submit_UrlsThatNormaliseAlike_AreOneSignal()
    {
        var first = new Proto.Signal { Type = Proto.SignalType.Url, Value = "HTTPS://Example.COM:443/watch?v=abc&utm_source=share#t=10" };
        var second = new Proto.Signal { Type = Proto.SignalType.Url, Value = "https://example.com/watch?v=abc" };

        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(first, "content_type:url")));
        var b = await _b.Contributions.SubmitContributionsAsync(Batch(Item(second, "content_type:url")));

        Assert.That(b.Results[0].SignalId, Is.EqualTo(a.Results[0].SignalId));
        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = a.Results[0].SignalId });
        Assert.That(record.Signal.Value, Is.EqualTo("https://example.com/watch?v=abc"));
        Assert.That(record.Contributions, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Submit_PhotoDnaAsBase64_IsStoredAsHexAndSynced()
    {
        var bytes = new byte[144];
        _random.NextBytes(bytes);
        var signal = new Proto.Signal { Type = Proto.SignalType.Photodna, Value = Convert.ToBase64String(bytes) };

        var response = await _a.Contributions.SubmitContributionsAsync(Batch(Item(signal)));

        var record = await _b.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = response.Results[0].SignalId });
        Assert.That(record.Signal.Type, Is.EqualTo(Proto.SignalType.Photodna));
        Assert.That(record.Signal.Value, Is.EqualTo(Convert.ToHexStringLower(bytes)));
        var violations = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(Batch(Item(new Proto.Signal { Type = Proto.SignalType.Photodna, Value = "abcd" }))).ResponseAsync);
        Assert.That(violations.Single().Field, Is.EqualTo("items[0].signal.value"));
    }

    [Test]
    public async Task Submit_SameSignalBySecondMember_AddsSecondContributionToSameSignal()
    {
        var pdq = RandomPdq(_random);
        var first = await _a.Contributions.SubmitContributionsAsync(Batch(Item(pdq, "behavior:recruitment")));
        var second = await _b.Contributions.SubmitContributionsAsync(Batch(Item(pdq, "behavior:instruction")));

        Assert.That(second.Results[0].SignalId, Is.EqualTo(first.Results[0].SignalId));
        Assert.That(second.Results[0].SignalCreated, Is.False);
        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = first.Results[0].SignalId });
        Assert.That(record.Contributions.Select(c => c.Provenance.MemberId), Is.EqualTo(new[] { _alpha.MemberId, _beta.MemberId }));
        Assert.That(record.Labels, Is.EqualTo(new[] { "behavior:instruction", "behavior:recruitment" }));
    }

    [Test]
    public async Task Submit_SameSignalAgainBySameMember_UpdatesItsContribution()
    {
        var md5 = RandomMd5();
        var first = await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:recruitment")));
        var again = await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:incitement")));

        Assert.That(again.Results[0].ContributionId, Is.EqualTo(first.Results[0].ContributionId));
        Assert.That(again.Results[0].UpdatedExisting, Is.True);
        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = first.Results[0].SignalId });
        Assert.That(record.Contributions.Single().Labels, Is.EqualTo(new[] { "behavior:incitement" }));
    }

    [Test]
    public async Task Submit_SameIdempotencyKeyTwice_ReplaysAndChangesNothing()
    {
        var batch = Batch(Item(RandomPdq(_random)), Item(RandomMd5()));
        var first = await _a.Contributions.SubmitContributionsAsync(batch);
        var head = await HeadAsync();

        var second = await _a.Contributions.SubmitContributionsAsync(batch);

        Assert.That(second.Replayed, Is.True);
        Assert.That(first.Replayed, Is.False);
        Assert.That(second.Results, Is.EqualTo(first.Results));
        Assert.That(await HeadAsync(), Is.EqualTo(head), "a replay must append no change");
    }

    [Test]
    public async Task Submit_SameIdempotencyKeyDifferentBatch_IsInvalidArgument()
    {
        var batch = Batch(Item(RandomMd5()));
        await _a.Contributions.SubmitContributionsAsync(batch);
        var other = Batch(Item(RandomMd5()));
        other.IdempotencyKey = batch.IdempotencyKey;

        var violations = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(other).ResponseAsync);

        Assert.That(violations.Single().Field, Is.EqualTo("idempotency_key"));
    }

    [Test]
    public async Task Submit_SameKeyFromAnotherMember_IsIndependent()
    {
        var batch = Batch(Item(RandomMd5()));
        await _a.Contributions.SubmitContributionsAsync(batch);

        var response = await _b.Contributions.SubmitContributionsAsync(batch);

        Assert.That(response.Replayed, Is.False);
    }

    [TestCase(Proto.SignalType.Pdq, "abc", 90, "items[1].signal.value", "pdq value must be 64 hex digits, got 3 characters")]
    [TestCase(Proto.SignalType.Md5, "zz2345678901234567890123456789ab", null, "items[1].signal.value", "md5 value must be hex digits only, found 'z' at position 0")]
    [TestCase(Proto.SignalType.Sha256, "0123", null, "items[1].signal.value", "sha256 value must be 64 hex digits, got 4 characters")]
    [TestCase(Proto.SignalType.Pdq, null, 49, "items[1].signal.quality", "is 49, under the minimum of 50: low-quality hashes match unrelated images")]
    [TestCase(Proto.SignalType.Pdq, null, -1, "items[1].signal.quality", "must be between 0 and 100, got -1")]
    [TestCase(Proto.SignalType.Unspecified, null, null, "items[1].signal.type", "must be one of pdq, md5, sha256, url, photodna")]
    [TestCase(Proto.SignalType.Vpdq, null, null, "items[1].signal.type", "vpdq is not accepted by this hub yet")]
    public async Task Submit_MalformedItem_RejectsWholeBatchWithFieldAndReason(Proto.SignalType type, string? value, int? quality, string field, string reason)
    {
        var bad = new Proto.Signal { Type = type, Value = value ?? new string('a', 64) };
        if (quality is { } q)
        {
            bad.Quality = q;
        }
        var good = RandomMd5();
        var head = await HeadAsync();

        var violations = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(Batch(Item(good), Item(bad))).ResponseAsync);

        Assert.That(violations.Select(v => (v.Field, v.Description)), Is.EqualTo(new[] { (field, reason) }));
        Assert.That(await HeadAsync(), Is.EqualTo(head), "nothing of a rejected batch is written");
        var ex = Assert.ThrowsAsync<RpcException>(async () => await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = good }));
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.NotFound));
    }

    [Test]
    public async Task Submit_PdqWithoutQuality_SaysQualityIsRequired()
    {
        var pdq = RandomPdq(_random);
        pdq.ClearQuality();

        var violations = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(Batch(Item(pdq))).ResponseAsync);

        Assert.That(violations.Single().Field, Is.EqualTo("items[0].signal.quality"));
    }

    [Test]
    public async Task Submit_UnknownLabelMissingSourceAndDuplicate_ReportsEveryViolation()
    {
        var md5 = RandomMd5();
        var unknownLabel = Item(RandomMd5(), "behavior:does_not_exist");
        var noSource = Item(RandomMd5());
        noSource.SourceKind = Proto.SourceKind.Unspecified;
        var noLabels = Item(RandomMd5());
        noLabels.Labels.Clear();

        var violations = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(Batch(Item(md5), unknownLabel, noSource, noLabels, Item(md5))).ResponseAsync);

        Assert.That(violations.Select(v => v.Field), Is.EqualTo(new[]
        {
            "items[1].labels[0]", "items[2].source_kind", "items[3].labels", "items[4].signal.value",
        }));
        Assert.That(violations[0].Description, Does.Contain("'behavior:does_not_exist' is not a label of the taxonomy"));
        Assert.That(violations[3].Description, Does.Contain("repeats the signal of items[0]"));
    }

    [Test]
    public async Task Submit_OversizedBatchOrMissingKey_IsInvalidArgument()
    {
        var oversized = Batch(Enumerable.Range(0, 51).Select(_ => Item(RandomMd5())).ToArray());
        var noKey = Batch(Item(RandomMd5()));
        noKey.IdempotencyKey = string.Empty;

        var tooMany = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(oversized).ResponseAsync);
        var missing = await ViolationsOf(_a.Contributions.SubmitContributionsAsync(noKey).ResponseAsync);

        Assert.That(tooMany.Single().Field, Is.EqualTo("items"));
        Assert.That(tooMany.Single().Description, Does.Contain("the most in one batch is 50"));
        Assert.That(missing.Single().Field, Is.EqualTo("idempotency_key"));
    }

    [Test]
    public async Task Retract_LastActiveContribution_RetractsSignalButKeepsRecord()
    {
        var submitted = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomPdq(_random))));
        var result = submitted.Results[0];

        var response = await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = result.ContributionId, Reason = "false positive" });

        Assert.That(response.Signal.Status, Is.EqualTo(Proto.SignalStatus.Retracted));
        Assert.That(response.Signal.Labels, Is.Empty);
        var record = await _b.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = result.SignalId });
        var contribution = record.Contributions.Single();
        Assert.That(contribution.Status, Is.EqualTo(Proto.ContributionStatus.Retracted));
        Assert.That(contribution.RetractedAt, Is.Not.Null);
        Assert.That(contribution.Labels, Is.Not.Empty, "the retracted statement is kept as evidence");
    }

    [Test]
    public async Task Retract_OneOfTwoContributions_KeepsSignalActive()
    {
        var md5 = RandomMd5();
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:recruitment")));
        await _b.Contributions.SubmitContributionsAsync(Batch(Item(md5, "behavior:instruction")));

        var response = await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = a.Results[0].ContributionId });

        Assert.That(response.Signal.Status, Is.EqualTo(Proto.SignalStatus.Active));
        Assert.That(response.Signal.Labels, Is.EqualTo(new[] { "behavior:instruction" }));
    }

    [Test]
    public async Task Retract_AnotherMembersContribution_IsPermissionDeniedAndChangesNothing()
    {
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));

        var ex = Assert.ThrowsAsync<RpcException>(async () =>
            await _b.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = a.Results[0].ContributionId }));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = a.Results[0].SignalId });
        Assert.That(record.Status, Is.EqualTo(Proto.SignalStatus.Active));
    }

    [Test]
    public async Task Retract_Twice_IsANoOp()
    {
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var request = new Proto.RetractContributionRequest { ContributionId = a.Results[0].ContributionId };
        await _a.Contributions.RetractContributionAsync(request);
        var head = await HeadAsync();

        var again = await _a.Contributions.RetractContributionAsync(request);

        Assert.That(again.Signal.Status, Is.EqualTo(Proto.SignalStatus.Retracted));
        Assert.That(await HeadAsync(), Is.EqualTo(head));
    }

    [Test]
    public async Task Submit_RetractedSignalAgain_MakesItActiveAgain()
    {
        var md5 = RandomMd5();
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(md5)));
        await _a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = a.Results[0].ContributionId });

        var again = await _b.Contributions.SubmitContributionsAsync(Batch(Item(md5)));

        var record = await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = again.Results[0].SignalId });
        Assert.That(record.Status, Is.EqualTo(Proto.SignalStatus.Active));
        Assert.That(record.Contributions, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task UpdateLabels_OwnContribution_ReplacesLabels()
    {
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5(), "behavior:recruitment")));
        var request = new Proto.UpdateContributionLabelsRequest { ContributionId = a.Results[0].ContributionId };
        request.Labels.AddRange(["behavior:imminent_threat", "content_type:video"]);

        var updated = await _a.Contributions.UpdateContributionLabelsAsync(request);

        Assert.That(updated.Labels, Is.EqualTo(new[] { "behavior:imminent_threat", "content_type:video" }));
        var ex = Assert.ThrowsAsync<RpcException>(async () => await _b.Contributions.UpdateContributionLabelsAsync(request));
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
    }

    [Test]
    public async Task UpdateLabels_UnknownLabel_IsInvalidArgument()
    {
        var a = await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var request = new Proto.UpdateContributionLabelsRequest { ContributionId = a.Results[0].ContributionId, Labels = { "nope" } };

        var violations = await ViolationsOf(_a.Contributions.UpdateContributionLabelsAsync(request).ResponseAsync);

        Assert.That(violations.Single().Field, Is.EqualTo("labels[0]"));
    }

    [TestCase("999999999", StatusCode.NotFound)]
    [TestCase("not-an-id", StatusCode.InvalidArgument)]
    public void GetSignal_UnknownOrMalformedId_ReturnsStatus(string id, StatusCode expected)
    {
        var ex = Assert.ThrowsAsync<RpcException>(async () => await _a.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = id }));

        Assert.That(ex!.StatusCode, Is.EqualTo(expected));
    }

    [Test]
    public async Task ListLabels_HasSeededTaxonomy()
    {
        var labels = await _a.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest());

        Assert.That(labels.Labels.Select(l => l.Key), Is.SupersetOf(new[]
        {
            "behavior:graphic_violence", "behavior:glorification", "behavior:recruitment", "behavior:instruction", "behavior:imminent_threat",
            "content_type:image", "content_type:video",
        }));
    }

    private async Task<string> HeadAsync() =>
        (await _a.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = 1 })) is { } first
            ? await DrainAsync(first.NextCursor)
            : string.Empty;

    private async Task<string> DrainAsync(string cursor)
    {
        while (true)
        {
            var page = await _a.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 5000 });
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return cursor;
            }
        }
    }

    internal static async Task<IReadOnlyList<BadRequest.Types.FieldViolation>> ViolationsOf(Task call)
    {
        var ex = Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), ex.Status.Detail);
        var status = ex.GetRpcStatus();
        Assert.That(status, Is.Not.Null, "InvalidArgument carries google.rpc.Status details");
        var badRequest = status!.GetDetail<BadRequest>();
        Assert.That(badRequest, Is.Not.Null, "InvalidArgument carries a BadRequest with field violations");
        await Task.CompletedTask;
        return badRequest!.FieldViolations;
    }
}
