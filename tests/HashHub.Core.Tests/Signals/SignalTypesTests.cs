using HashHub.Core.Signals;

namespace HashHub.Core.Tests.Signals;

public sealed class SignalTypesTests
{
    [TestCase("md5", 32)]
    [TestCase("sha256", 64)]
    [TestCase("pdq", 64)]
    public void TryNormalize_UpperCaseHexOfRightLength_ReturnsLowerCase(string name, int digits)
    {
        var type = SignalTypes.Find(name)!;
        var value = new string('A', digits);

        Assert.That(type.TryNormalize(value, out var normalized, out _), Is.True);
        Assert.That(normalized, Is.EqualTo(new string('a', digits)));
    }

    [TestCase("md5", "abc", "must be 32 hex digits, got 3 characters")]
    [TestCase("sha256", "", "must be 64 hex digits, got an empty value")]
    [TestCase("md5", "0123456789abcdef0123456789abcdeg", "must be hex digits only, found 'g' at position 31")]
    public void TryNormalize_Malformed_SaysWhy(string name, string value, string reason)
    {
        var type = SignalTypes.Find(name)!;

        Assert.That(type.TryNormalize(value, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo(reason));
    }

    [Test]
    public void PdqDistance_CountsDifferingBits()
    {
        var a = new string('0', 64);
        var b = "f" + new string('0', 62) + "1";

        Assert.That(SignalTypes.Pdq.Distance(a, b), Is.EqualTo(5));
        Assert.That(SignalTypes.Pdq.Distance(b, b), Is.Zero);
    }

    [Test]
    public void Find_UnknownName_ReturnsNull() => Assert.That(SignalTypes.Find("no-such-type"), Is.Null);
}
