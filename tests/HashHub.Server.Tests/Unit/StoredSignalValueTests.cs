using HashHub.Server.Storage;

namespace HashHub.Server.Tests.Unit;

public sealed class StoredSignalValueTests
{
    [TestCase("0123456789abcdef", 9)]
    [TestCase("d41d8cd98f00b204e9800998ecf8427e", 17)]
    public void Encode_LowerCaseHex_IsItsBytesAfterTheTag(string value, int length)
    {
        var stored = StoredSignalValue.Encode(value);

        Assert.Multiple(() =>
        {
            Assert.That(stored, Has.Length.EqualTo(length));
            Assert.That(stored[0], Is.EqualTo(1));
            Assert.That(stored[1..], Is.EqualTo(Convert.FromHexString(value)));
            Assert.That(StoredSignalValue.Decode(stored), Is.EqualTo(value));
        });
    }

    // Not lower-case hex of an even length: kept as UTF-8 text, so that they read back exactly as given.
    [TestCase("https://example.com/watch?v=abc")]
    [TestCase("ABCDEF")]
    [TestCase("abc")]
    [TestCase("")]
    [TestCase("caf\u00e9")]
    public void Encode_AnythingElse_IsUtf8TextAfterTheTag(string value)
    {
        var stored = StoredSignalValue.Encode(value);

        Assert.Multiple(() =>
        {
            Assert.That(stored[0], Is.EqualTo(0));
            Assert.That(stored[1..], Is.EqualTo(System.Text.Encoding.UTF8.GetBytes(value)));
            Assert.That(StoredSignalValue.Decode(stored), Is.EqualTo(value));
        });
    }

    [Test]
    public void Encode_HexAndTextOfTheSameBytes_StayDistinct()
    {
        // "6162" as hex is the bytes of "ab" as text; the tag keeps the two values apart in the unique index.
        Assert.That(StoredSignalValue.Encode("6162"), Is.Not.EqualTo(StoredSignalValue.Encode("ab")));
    }

    [Test]
    public void Decode_NoTagOrAnUnknownOne_Throws()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => StoredSignalValue.Decode([]), Throws.TypeOf<FormatException>());
            Assert.That(() => StoredSignalValue.Decode([7, 1]), Throws.TypeOf<FormatException>().With.Message.Contains("tag 7"));
        });
    }
}
