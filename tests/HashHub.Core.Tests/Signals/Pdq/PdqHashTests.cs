using HashHub.Core.Signals;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

public sealed class PdqHashTests
{
    private const string Bridge = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    [Test]
    public void ParseToHex_RoundTrips() => Assert.That(PdqHash.Parse(Bridge.ToUpperInvariant()).ToHex(), Is.EqualTo(Bridge));

    [Test]
    public void GetWord_HexPrintsWord15First()
    {
        var hash = PdqHash.Parse(Bridge);

        Assert.That(hash.GetWord(15), Is.EqualTo(0xf8f8));
        Assert.That(hash.GetWord(0), Is.EqualTo(0x9b22));
        Assert.That(hash.GetBit(1), Is.True); // 0x9b22 bit 1
        Assert.That(hash.GetBit(0), Is.False);
    }

    [Test]
    public void HammingDistance_AgreesWithSignalTypeDistance()
    {
        const string other = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

        Assert.That(PdqHash.Parse(Bridge).HammingDistance(PdqHash.Parse(other)), Is.EqualTo(SignalTypes.Pdq.Distance(Bridge, other)));
    }

    [TestCase("")]
    [TestCase("xyz")]
    [TestCase("g8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")]
    public void TryParse_Malformed_ReturnsFalse(string hex) => Assert.That(PdqHash.TryParse(hex, out _), Is.False);
}
