using HashHub.Core.Signals;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Signals;

/// <summary>Maps the wire enum of signal types to Core's signal types, and back.</summary>
internal static class SignalTypeMap
{
    /// <summary>The wire names of the types the hub accepts, for error messages.</summary>
    public const string Accepted = "pdq, md5, sha256, url, photodna";

    public static SignalType? ToCore(Proto.SignalType type) => type switch
    {
        Proto.SignalType.Pdq => SignalTypes.Pdq,
        Proto.SignalType.Md5 => SignalTypes.Md5,
        Proto.SignalType.Sha256 => SignalTypes.Sha256,
        Proto.SignalType.Url => SignalTypes.Url,
        Proto.SignalType.Photodna => SignalTypes.PhotoDna,
        _ => null,
    };

    public static Proto.SignalType ToProto(string name) => name switch
    {
        "pdq" => Proto.SignalType.Pdq,
        "vpdq" => Proto.SignalType.Vpdq,
        "md5" => Proto.SignalType.Md5,
        "sha256" => Proto.SignalType.Sha256,
        "url" => Proto.SignalType.Url,
        "photodna" => Proto.SignalType.Photodna,
        _ => Proto.SignalType.Unspecified,
    };
}
