using System.Text;
using HashHub.Core.Signals;
using HashHub.Core.Signals.Exact;
using HashHub.Core.Tests.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Exact;

public sealed class ExactHasherTests
{
    private static IEnumerable<TestCaseData> VectorFiles() =>
        PdqVectors.Manifest.Where(r => !PdqVectors.Omitted.Contains(r.File))
            .Select(r => new TestCaseData(r).SetArgDisplayNames(r.File));

    [TestCase("", "d41d8cd98f00b204e9800998ecf8427e", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("abc", "900150983cd24fb0d6963f7d28e17f72", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void Compute_KnownText_ReturnsPublishedDigests(string text, string md5, string sha256)
    {
        using var stream = new MemoryStream(Encoding.ASCII.GetBytes(text));

        var hashes = ExactHasher.Compute(stream);

        Assert.That(hashes, Is.EqualTo(new ExactHashes(md5, sha256)));
    }

    [TestCaseSource(nameof(VectorFiles))]
    public void ComputeFile_VectorImage_Md5MatchesManifest(ManifestRow row)
    {
        var hashes = ExactHasher.ComputeFile(row.FullPath);

        Assert.That(hashes.Md5, Is.EqualTo(row.Md5));
        Assert.That(SignalTypes.Md5.TryNormalize(hashes.Md5, out _, out _), Is.True);
        Assert.That(SignalTypes.Sha256.TryNormalize(hashes.Sha256, out _, out _), Is.True);
    }

    [Test]
    public async Task ComputeFileAsync_KnownFile_MatchesSha256sum()
    {
        // Expected value from `sha256sum` / `md5sum` of the committed file.
        var hashes = await ExactHasher.ComputeFileAsync(PdqVectors.PathOf("images/pdq-data/misc-images/wee.jpg"));

        Assert.That(hashes.Sha256, Is.EqualTo("05636c50d0c2ffe3a820f964eaba35b404deadd10538fe452ad9fb16fdd823d7"));
        Assert.That(hashes.Md5, Is.EqualTo("8bbbaa9540800e378beadc8bbef7bb32"));
    }

    [Test]
    public void Compute_100MiBGeneratedStream_StreamsWithoutAllocatingItsSize()
    {
        const long size = 100L * 1024 * 1024;
        using var stream = new ZeroStream(size);
        ExactHasher.Compute(new ZeroStream(1)); // warm up the pools and the hash providers

        var before = GC.GetAllocatedBytesForCurrentThread();
        var hashes = ExactHasher.Compute(stream);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Expected values: `head -c 104857600 /dev/zero | md5sum` and `| sha256sum`.
        Assert.That(hashes.Md5, Is.EqualTo("2f282b84e7e608d5852449ed940bfc51"));
        Assert.That(hashes.Sha256, Is.EqualTo("20492a4d0d84f8beb1767f6616229f85d44c2827b64bdbfb260ee12fa1109e0e"));
        Assert.That(allocated, Is.LessThan(64 * 1024), "hashing must stream through a fixed buffer");
    }

    [Test]
    public async Task ComputeAsync_CancelledToken_Throws()
    {
        using var stream = new ZeroStream(1024 * 1024);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Assert.That(async () => await ExactHasher.ComputeAsync(stream, cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void ComputeFile_MissingFile_ThrowsFileNotFound() =>
        Assert.That(() => ExactHasher.ComputeFile(Path.Combine(PdqVectors.Root, "no-such-file.bin")), Throws.InstanceOf<FileNotFoundException>());

    /// <summary>A read-only stream of <c>length</c> zero bytes that holds no buffer of its own.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            buffer[..n].Clear();
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
