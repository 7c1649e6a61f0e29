using HashHub.Core.Matching;
using HashHub.Core.Signals;

namespace HashHub.Core.Tests.Matching;

public sealed class MatchConfidenceTests
{
    [TestCase(0, 1, 0.5)]
    [TestCase(0, 2, 0.75)]
    [TestCase(0, 3, 0.875)]
    [TestCase(32, 1, 0.25)]
    [TestCase(31, 2, 0.3867)]
    [TestCase(64, 5, 0.0)]
    [TestCase(10, 0, 0.0)]
    public void Compute_Pdq_ClosenessTimesCorroboration(int distance, int members, double expected) =>
        Assert.That(MatchConfidence.Compute(SignalTypes.Pdq, distance, members), Is.EqualTo(expected).Within(1e-9));

    [Test]
    public void Compute_ExactType_OnlyCorroborationCounts() =>
        Assert.That(MatchConfidence.Compute(SignalTypes.Sha256, 0, 4), Is.EqualTo(0.9375));

    [Test]
    public void Compute_NegativeDistance_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MatchConfidence.Compute(SignalTypes.Pdq, -1, 1));
}
