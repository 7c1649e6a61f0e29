namespace HashHub.Core.Signals;

/// <summary>Validation of fixed-length hex strings, shared by the hash signal types.</summary>
internal static class Hex
{
    public static bool TryNormalize(string value, int digits, out string normalized, out string error)
    {
        normalized = string.Empty;
        if (string.IsNullOrEmpty(value))
        {
            error = $"must be {digits} hex digits, got an empty value";
            return false;
        }
        if (value.Length != digits)
        {
            error = $"must be {digits} hex digits, got {value.Length} characters";
            return false;
        }
        for (var i = 0; i < value.Length; i++)
        {
            if (!char.IsAsciiHexDigit(value[i]))
            {
                error = $"must be hex digits only, found '{value[i]}' at position {i}";
                return false;
            }
        }
        normalized = value.ToLowerInvariant();
        error = string.Empty;
        return true;
    }
}
