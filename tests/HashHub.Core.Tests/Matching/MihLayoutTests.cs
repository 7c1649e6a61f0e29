using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

public sealed class MihLayoutTests
{
    [TestCase(0)]
    [TestCase(16)]
    [TestCase(31)]
    [TestCase(47)]
    [TestCase(63)]
    public void FoundEarlier_VectorForm_AgreesWithScalarForm(int radius)
    {
        var rng = new Random(radius);
        Span<int> sub = stackalloc int[MihLayout.Chunks];
        MihLayout.PlanProbes(radius, sub);
        var lanes = MihLayout.SubLanes(sub);
        for (var k = 0; k < 2000; k++)
        {
            var q = SyntheticHashes.Random(rng);
            var h = SyntheticHashes.Flip(q, rng.Next(70), rng);
            for (var c = 0; c < MihLayout.Chunks; c++)
            {
                Assert.That(MihLayout.FoundEarlier(h, q, c, sub, lanes), Is.EqualTo(MihLayout.FoundEarlier(h, q, c, sub)));
            }
        }
    }

    [TestCase(31, 1, 1)]
    [TestCase(15, 0, 0)]
    [TestCase(16, 1, 0)]
    [TestCase(0, 0, -1)]
    public void PlanProbes_Radius_SplitsByPigeonhole(int radius, int first, int last)
    {
        Span<int> sub = stackalloc int[MihLayout.Chunks];
        MihLayout.PlanProbes(radius, sub);

        Assert.That(sub[0], Is.EqualTo(first));
        Assert.That(sub[15], Is.EqualTo(last));
    }
}
