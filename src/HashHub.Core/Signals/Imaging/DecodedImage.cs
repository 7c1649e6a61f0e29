using System.Buffers;

namespace HashHub.Core.Signals.Imaging;

/// <summary>
/// Decoded 8-bit RGBA pixels (not premultiplied, row-major, no padding) in a pooled buffer: dispose it to return
/// the buffer.
/// </summary>
internal sealed class DecodedImage : IDisposable
{
    private byte[]? _buffer;

    public DecodedImage(byte[] pooledBuffer, int width, int height)
    {
        _buffer = pooledBuffer;
        Width = width;
        Height = height;
    }

    public int Width { get; }

    public int Height { get; }

    public ReadOnlySpan<byte> Rgba =>
        (_buffer ?? throw new ObjectDisposedException(nameof(DecodedImage))).AsSpan(0, Width * Height * 4);

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
