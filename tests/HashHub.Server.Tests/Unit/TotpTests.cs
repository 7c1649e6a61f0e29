using HashHub.Server.Tests.Infrastructure;

namespace HashHub.Server.Tests.Unit;

/// <summary>The tests' own authenticator agrees with RFC 6238's published vectors (SHA-1, the last six digits).</summary>
public sealed class TotpTests
{
    // Base32 of the RFC's ASCII key "12345678901234567890".
    private const string RfcKey = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    [TestCase(59L, "287082")]
    [TestCase(1111111109L, "081804")]
    [TestCase(1234567890L, "005924")]
    [TestCase(2000000000L, "279037")]
    public void Code_Rfc6238Vectors_Match(long unixSeconds, string expected) =>
        Assert.That(Totp.Code(RfcKey, DateTimeOffset.FromUnixTimeSeconds(unixSeconds)), Is.EqualTo(expected));
}
