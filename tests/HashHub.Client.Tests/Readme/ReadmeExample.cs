using HashHub.Client.Contributing;
using HashHub.Client.Matching;
using HashHub.Client.Sync;

namespace HashHub.Client.Tests.Readme;

/// <summary>
/// The README's snippet, compiled: <see cref="ReadmeTests"/> checks that every line of the README's code block is
/// here, in the same order, so the documented code cannot drift from code that builds.
/// </summary>
internal static class ReadmeExample
{
    public static async Task RunAsync()
    {
        // README:begin
        var options = new HubClientOptions
        {
            HubAddress = new Uri("http://127.0.0.1:5000"),
            ClientId = "hh_...",
            ClientSecret = Environment.GetEnvironmentVariable("HASHHUB_SECRET")!,
            StorePath = "hashhub.db",   // the member's own copy of the list
            Policy = new MatchPolicy
            {
                BlockConfidence = 0.4,
                LabelActions = new Dictionary<string, MatchAction> { ["behavior:imminent_threat"] = MatchAction.Block },
            },
        };
        await using var hub = await HashHubClient.OpenAsync(options);

        // Bootstrap (first run) or catch up, then stay live in the background.
        SyncResult synced = await hub.SyncAsync();
        Console.WriteLine($"{synced.ChangesApplied} changes applied");
        // How far behind the hub are we now? (GetStoreStatus().LastKnownLag has the figure of the last sync, offline.)
        SyncLag lag = await hub.GetLagAsync();
        Console.WriteLine($"at most {lag.ChangesBehind} changes behind, {lag.TimeBehind} behind the hub's newest change");
        using var stopping = new CancellationTokenSource();   // cancel at shutdown
        _ = hub.RunLiveSyncAsync(e => Console.WriteLine($"{e.Kind} {e.Changes}"), stopping.Token);

        // An upload arrives: hash it here, match it against the local index.
        MatchResult result = await hub.MatchAsync("upload.jpg");
        foreach (HubMatch match in result.Matches)
        {
            Console.WriteLine($"{match.SignalType} d={match.Distance} confidence={match.Confidence} " +
                $"labels={string.Join(',', match.Labels)} by {string.Join(',', match.Contributors.Select(c => c.MemberName))}");
        }
        if (result.Action == MatchAction.Block)
        {
            await hub.ReportOutcomeAsync(result.Matches[0].SignalId, MatchOutcome.Actioned);
        }

        // A takedown of our own: share its hashes (never the image) with the consortium.
        ContributionReceipt receipt = await hub.ContributeAsync("takedown.jpg", ["behavior:glorification"],
            new ContributionProvenance(ContributionSource.UserReport, CaseReference: "case-4711"));

        // Or share it only with the members of a sharing group we belong to (the group's id from the admins).
        await hub.ContributeAsync("attack-still.jpg", ["behavior:glorification"], sharingGroupIds: ["grp_0123456789abcdef"]);

        // Later: relabel or retract it.
        await hub.RelabelAsync(receipt.Signals[0].ContributionId, ["behavior:recruitment"]);
        await hub.RetractAsync(receipt, "appeal upheld");
        // README:end
    }
}
