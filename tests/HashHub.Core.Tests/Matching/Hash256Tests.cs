using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

public sealed class Hash256Tests
{
    private const string Reference = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    [Test]
    public void Parse_ReferenceHex_FormatsBackIdentically() =>
        Assert.That(Hash256.Parse(Reference).ToString(), Is.EqualTo(Reference));

    [Test]
    public void Parse_UpperCase_FormatsAsLowerCase() =>
        Assert.That(Hash256.Parse(Reference.ToUpperInvariant()).ToString(), Is.EqualTo(Reference));

    [Test]
    public void Parse_FirstDigits_LandInWord0AsBigEndian()
    {
        var h = Hash256.Parse("0123456789abcdef" + new string('0', 47) + "1");

        Assert.That(h.Word0, Is.EqualTo(0x0123456789abcdefUL));
        Assert.That(h.Word3, Is.EqualTo(1UL));
    }

    [Test]
    public void GetWord_EachIndex_ReturnsThatWord()
    {
        var h = new Hash256(1, 2, 3, 4);

        Assert.That(Enumerable.Range(0, 4).Select(h.GetWord), Is.EqualTo(new ulong[] { 1, 2, 3, 4 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.GetWord(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.GetWord(-1));
    }

    [TestCase("")]
    [TestCase("0x23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [TestCase(" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [TestCase("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]
    [TestCase("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    public void TryParse_Malformed_ReturnsFalse(string hex) => Assert.That(Hash256.TryParse(hex, out _), Is.False);

    [Test]
    public void DistanceTo_FlippedBits_CountsThem()
    {
        var rng = new Random(7);
        var a = SyntheticHashes.Random(rng);

        for (var bits = 0; bits <= 256; bits += 17)
        {
            Assert.That(a.DistanceTo(SyntheticHashes.Flip(a, bits, rng)), Is.EqualTo(bits));
        }
    }

    [Test]
    public void DistanceTo_AgreesWithPdqSignalType()
    {
        var rng = new Random(8);
        var a = SyntheticHashes.Random(rng);
        var b = SyntheticHashes.Random(rng);

        Assert.That(a.DistanceTo(b), Is.EqualTo(HashHub.Core.Signals.SignalTypes.Pdq.Distance(a.ToString(), b.ToString())));
    }
}
