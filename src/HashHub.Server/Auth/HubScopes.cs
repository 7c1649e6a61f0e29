namespace HashHub.Server.Auth;

/// <summary>The OAuth2 scopes a member client can hold.</summary>
public static class HubScopes
{
    /// <summary>Sync, get signals, list the taxonomy.</summary>
    public const string Read = "hashhub.read";

    /// <summary>Contribute, retract, relabel.</summary>
    public const string Write = "hashhub.write";

    public static readonly string[] All = [Read, Write];
}

/// <summary>Authorization policy names used on the gRPC services.</summary>
public static class HubPolicies
{
    public const string Read = "hashhub.read";
    public const string Write = "hashhub.write";
    public const string Admin = "hashhub.admin";
    /// <summary>Any active member, whatever scopes its client holds.</summary>
    public const string Member = "hashhub.member";
}
