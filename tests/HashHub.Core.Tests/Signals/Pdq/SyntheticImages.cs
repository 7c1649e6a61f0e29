namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>
/// Deterministic RGBA test images from integer formulas only (no Random, no floating point), so that the same pixels
/// can be fed to the reference C++ to produce TestData/pdq-synthetic/expected.csv.
/// </summary>
internal static class SyntheticImages
{
    public static byte[] Generate(string kind, int width, int height)
    {
        var rgba = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 4;
                var smooth = (byte)(((x * 7 + y * 3) + ((x * y) >> 5) + ((x * x + y * y) >> 9)) & 255);
                switch (kind)
                {
                    case "noise":
                        rgba[i] = Mix(x, y, 0);
                        rgba[i + 1] = Mix(x, y, 1);
                        rgba[i + 2] = Mix(x, y, 2);
                        break;
                    case "smooth":
                        rgba[i] = smooth;
                        rgba[i + 1] = (byte)(255 - smooth);
                        rgba[i + 2] = (byte)((x ^ y) & 255);
                        break;
                    default: // grey
                        rgba[i] = rgba[i + 1] = rgba[i + 2] = smooth;
                        break;
                }
                rgba[i + 3] = Mix(x, y, 3); // PDQ ignores alpha
            }
        }
        return rgba;
    }

    private static byte Mix(int x, int y, int c)
    {
        var h = (uint)(x * 73856093) ^ (uint)(y * 19349663) ^ (uint)(c * 83492791);
        h ^= h >> 13;
        h *= 0x5bd1e995;
        h ^= h >> 15;
        return (byte)h;
    }
}
