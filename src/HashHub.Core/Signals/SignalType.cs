namespace HashHub.Core.Signals;

/// <summary>
/// One kind of signal (a hash of content): how its values are written, validated and compared.
/// Adding a type means adding one class in this folder and registering it in <see cref="SignalTypes"/>.
/// </summary>
public abstract class SignalType
{
    /// <summary>The stable, lower-case name used in storage and on the wire, for example <c>pdq</c>.</summary>
    public abstract string Name { get; }

    /// <summary>True when the type carries a quality metric (PDQ) that ingest must check.</summary>
    public virtual bool HasQuality => false;

    /// <summary>
    /// Validates <paramref name="value"/> and returns its canonical form (lower-case hex for hash types).
    /// On failure <paramref name="error"/> says what is wrong, in words a member's engineer can act on.
    /// </summary>
    public abstract bool TryNormalize(string value, out string normalized, out string error);

    /// <summary>The type's distance between two canonical values (0 for identical values).</summary>
    public abstract int Distance(string a, string b);

    /// <summary>The default threshold: values at a distance at or under it match.</summary>
    public virtual int DefaultMatchThreshold => 0;

    /// <inheritdoc />
    public override string ToString() => Name;
}
