namespace HashHub.Core.Signals.Imaging;

/// <summary>An image could not be decoded: the file is corrupt, truncated or in a format the decoder does not read.</summary>
public sealed class ImageDecodeException : Exception
{
    /// <summary>Creates the exception for the image named <paramref name="source"/>.</summary>
    public ImageDecodeException(string source, string reason, Exception? innerException = null)
        : base($"Cannot decode image '{source}': {reason}", innerException)
    {
        Source = source;
        Reason = reason;
    }

    /// <summary>The file path or stream description of the image.</summary>
    public new string Source { get; }

    /// <summary>Why decoding failed, in words.</summary>
    public string Reason { get; }
}
