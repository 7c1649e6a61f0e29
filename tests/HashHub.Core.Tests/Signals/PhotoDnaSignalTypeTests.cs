using HashHub.Core.Signals;

namespace HashHub.Core.Tests.Signals;

public sealed class PhotoDnaSignalTypeTests
{
    private static byte[] Bytes(int seed)
    {
        var bytes = new byte[PhotoDnaSignalType.HashBytes];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public void Find_PhotoDna_ReturnsRegisteredType() =>
        Assert.That(SignalTypes.Find("photodna"), Is.SameAs(SignalTypes.PhotoDna));

    [Test]
    public void TryNormalize_UpperCaseHex_ReturnsLowerCaseHex()
    {
        var hex = Convert.ToHexString(Bytes(1));

        Assert.That(SignalTypes.PhotoDna.TryNormalize(hex, out var normalized, out _), Is.True);
        Assert.That(normalized, Is.EqualTo(hex.ToLowerInvariant()));
    }

    [Test]
    public void TryNormalize_Base64_ReturnsSameHexAsTheBytes()
    {
        var bytes = Bytes(2);

        Assert.That(SignalTypes.PhotoDna.TryNormalize(Convert.ToBase64String(bytes), out var normalized, out _), Is.True);
        Assert.That(normalized, Is.EqualTo(Convert.ToHexStringLower(bytes)));
    }

    [TestCase("", "must be 288 hex digits or base64 of 144 bytes, got an empty value")]
    [TestCase("AAAA", "base64 must decode to 144 bytes, got 3")]
    [TestCase("not base64 and not hex!", "must be 288 hex digits or base64 of 144 bytes, got 23 characters that are neither")]
    public void TryNormalize_Malformed_SaysWhy(string value, string reason)
    {
        Assert.That(SignalTypes.PhotoDna.TryNormalize(value, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo(reason));
    }

    [Test]
    public void TryNormalize_HexLengthWithNonHexDigit_SaysWhere()
    {
        var value = "z" + new string('0', 287);

        Assert.That(SignalTypes.PhotoDna.TryNormalize(value, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo("must be hex digits only, found 'z' at position 0"));
    }

    [Test]
    public void Distance_Default_IsEuclideanRoundedUp()
    {
        var a = new byte[PhotoDnaSignalType.HashBytes];
        var b = new byte[PhotoDnaSignalType.HashBytes];
        b[0] = 3;
        b[1] = 4;
        var c = (byte[])a.Clone();
        c[5] = 1;
        c[6] = 1;

        Assert.That(SignalTypes.PhotoDna.Distance(Convert.ToHexStringLower(a), Convert.ToHexStringLower(b)), Is.EqualTo(5));
        // sqrt(2) = 1.41..., rounded up, so "distance <= 1" does not wrongly match it.
        Assert.That(SignalTypes.PhotoDna.Distance(Convert.ToHexStringLower(a), Convert.ToHexStringLower(c)), Is.EqualTo(2));
        Assert.That(SignalTypes.PhotoDna.Distance(Convert.ToHexStringLower(a), Convert.ToHexStringLower(a)), Is.Zero);
    }

    [Test]
    public void Distance_CustomFunctionAndThreshold_AreUsed()
    {
        // A Manhattan distance, as a consortium might plug in.
        var type = new PhotoDnaSignalType(matchThreshold: 10, distance: (x, y) =>
        {
            var sum = 0;
            for (var i = 0; i < x.Length; i++)
            {
                sum += Math.Abs(x.Span[i] - y.Span[i]);
            }
            return sum;
        });
        var a = new byte[PhotoDnaSignalType.HashBytes];
        var b = (byte[])a.Clone();
        b[0] = 3;
        b[1] = 4;

        Assert.That(type.Distance(Convert.ToHexStringLower(a), Convert.ToHexStringLower(b)), Is.EqualTo(7));
        Assert.That(type.DefaultMatchThreshold, Is.EqualTo(10));
    }
}
