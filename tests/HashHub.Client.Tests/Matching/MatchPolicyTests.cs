using HashHub.Client.Matching;

namespace HashHub.Client.Tests.Matching;

public sealed class MatchPolicyTests
{
    [TestCase(0.5, MatchAction.Block)]
    [TestCase(0.4, MatchAction.Block)]
    [TestCase(0.39, MatchAction.Review)]
    [TestCase(0.0, MatchAction.Review)]
    public void Decide_DefaultPolicy_BlocksConfidentMatchesAndReviewsTheRest(double confidence, MatchAction expected) =>
        Assert.That(MatchPolicy.Default.Decide(["behavior:glorification"], confidence), Is.EqualTo(expected));

    [Test]
    public void Decide_LabelWithAnAction_OverridesConfidenceAndTheStrongestLabelWins()
    {
        var policy = new MatchPolicy
        {
            LabelActions = new Dictionary<string, MatchAction>
            {
                ["behavior:imminent_threat"] = MatchAction.Block,
                ["content_type:document"] = MatchAction.Allow,
            },
        };

        Assert.That(policy.Decide(["behavior:imminent_threat"], 0.01), Is.EqualTo(MatchAction.Block));
        Assert.That(policy.Decide(["content_type:document"], 0.9), Is.EqualTo(MatchAction.Allow));
        Assert.That(policy.Decide(["content_type:document", "behavior:imminent_threat"], 0.1), Is.EqualTo(MatchAction.Block));
    }

    [Test]
    public void Decide_BelowTheReviewThreshold_Allows()
    {
        var policy = new MatchPolicy { ReviewConfidence = 0.3, BlockConfidence = 0.8 };

        Assert.That(policy.Decide(["behavior:glorification"], 0.2), Is.EqualTo(MatchAction.Allow));
        Assert.That(policy.Decide(["behavior:glorification"], 0.5), Is.EqualTo(MatchAction.Review));
        Assert.That(policy.Decide(["behavior:glorification"], 0.8), Is.EqualTo(MatchAction.Block));
    }
}
