using HashHub.Core.Signals;

namespace HashHub.Core.Tests.Signals;

public sealed class UrlSignalTypeTests
{
    [TestCase("HTTPS://Example.COM/Path?b=2&a=1#frag", "https://example.com/Path?b=2&a=1")]
    [TestCase("http://example.com:80/", "http://example.com/")]
    [TestCase("https://example.com:443/x", "https://example.com/x")]
    [TestCase("https://example.com:8443/x", "https://example.com:8443/x")]
    [TestCase("https://example.com", "https://example.com/")]
    [TestCase("  https://example.com/a  ", "https://example.com/a")]
    [TestCase("https://example.com/v?utm_source=x&id=7&UTM_Medium=y&fbclid=abc&gclid=def", "https://example.com/v?id=7")]
    [TestCase("https://example.com/v?utm_campaign=x", "https://example.com/v")]
    [TestCase("https://example.com./a/../b", "https://example.com/b")]
    [TestCase("https://bücher.example/", "https://xn--bcher-kva.example/")]
    [TestCase("https://[2001:DB8::1]:8080/x", "https://[2001:db8::1]:8080/x")]
    public void TryNormalize_EquivalentForms_ReturnsCanonicalUrl(string value, string expected)
    {
        Assert.That(SignalTypes.Url.TryNormalize(value, out var normalized, out var error), Is.True, error);
        Assert.That(normalized, Is.EqualTo(expected));
    }

    [TestCase("", "must be an absolute http or https URL, got an empty value")]
    [TestCase("example.com/page", "must be an absolute URL such as https://example.com/page, got 'example.com/page'")]
    [TestCase("ftp://example.com/file", "scheme must be http or https, got 'ftp'")]
    [TestCase("https://user:secret@example.com/", "must not contain a user name or password")]
    public void TryNormalize_Invalid_SaysWhy(string value, string reason)
    {
        Assert.That(SignalTypes.Url.TryNormalize(value, out _, out var error), Is.False);
        Assert.That(error, Is.EqualTo(reason));
    }

    [Test]
    public void TryNormalize_TooLong_SaysLimit()
    {
        var value = "https://example.com/" + new string('a', UrlSignalType.MaxLength);

        Assert.That(SignalTypes.Url.TryNormalize(value, out _, out var error), Is.False);
        Assert.That(error, Does.StartWith($"must be at most {UrlSignalType.MaxLength} characters"));
    }

    [Test]
    public void Distance_SameNormalizedUrl_IsZeroElseNoMatch()
    {
        SignalTypes.Url.TryNormalize("https://EXAMPLE.com/a?utm_source=t", out var a, out _);
        SignalTypes.Url.TryNormalize("https://example.com:443/a#top", out var b, out _);

        Assert.That(SignalTypes.Url.Distance(a, b), Is.Zero);
        Assert.That(SignalTypes.Url.Distance(a, "https://example.com/b"), Is.EqualTo(int.MaxValue));
    }

    [Test]
    public void Find_Url_ReturnsRegisteredType() => Assert.That(SignalTypes.Find("url"), Is.SameAs(SignalTypes.Url));
}
