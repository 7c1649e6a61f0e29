namespace HashHub.Server.Auth;

/// <summary>The OAuth2 scopes a member client can hold.</summary>
public static class HubScopes
{
    /// <summary>Sync, get signals, hub-side match, list the taxonomy.</summary>
    public const string Read = "hashhub.read";

    /// <summary>Contribute, retract, relabel.</summary>
    public const string Write = "hashhub.write";

    /// <summary>Report match outcomes (matched, actioned, false positive).</summary>
    public const string Feedback = "hashhub.feedback";

    public static readonly string[] All = [Read, Write, Feedback];
}

/// <summary>Authorization policy names used on the gRPC services.</summary>
public static class HubPolicies
{
    public const string Read = "hashhub.read";
    public const string Write = "hashhub.write";
    public const string Feedback = "hashhub.feedback";
    public const string Admin = "hashhub.admin";
    /// <summary>Any active member, whatever scopes its client holds.</summary>
    public const string Member = "hashhub.member";
}
