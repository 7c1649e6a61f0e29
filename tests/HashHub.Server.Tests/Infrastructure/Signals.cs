using System.Security.Cryptography;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>Makers of valid test contributions.</summary>
internal static class TestSignals
{
    public static Proto.Signal RandomPdq(Random random, int quality = 90)
    {
        var bytes = new byte[32];
        random.NextBytes(bytes);
        return new Proto.Signal { Type = Proto.SignalType.Pdq, Value = Convert.ToHexStringLower(bytes), Quality = quality };
    }

    public static Proto.Signal RandomMd5() =>
        new() { Type = Proto.SignalType.Md5, Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) };

    public static Proto.Signal RandomSha256() =>
        new() { Type = Proto.SignalType.Sha256, Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)) };

    public static Proto.ContributionInput Item(Proto.Signal signal, params string[] labels)
    {
        var item = new Proto.ContributionInput { Signal = signal, SourceKind = Proto.SourceKind.Upload };
        item.Labels.AddRange(labels.Length == 0 ? ["behavior:glorification"] : labels);
        return item;
    }

    public static Proto.SubmitContributionsRequest Batch(params Proto.ContributionInput[] items)
    {
        var request = new Proto.SubmitContributionsRequest { IdempotencyKey = Guid.NewGuid().ToString("N") };
        request.Items.AddRange(items);
        return request;
    }
}
