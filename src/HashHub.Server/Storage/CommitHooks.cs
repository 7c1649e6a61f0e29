using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace HashHub.Server.Storage;

/// <summary>
/// Runs the actions queued with <see cref="HubDbContext.AfterCommit"/> right after the transaction commits
/// (inside <c>CommitAsync</c>, so before the caller learns of the commit), and drops them when it rolls back or
/// fails. A new transaction starts with none queued, so actions of an attempt that failed never run.
/// </summary>
internal sealed class CommitHooks : DbTransactionInterceptor
{
    public static readonly CommitHooks Instance = new();

    public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        (eventData.Context as HubDbContext)?.TransactionStarted();
        return result;
    }

    public override ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default)
    {
        (eventData.Context as HubDbContext)?.TransactionStarted();
        return ValueTask.FromResult(result);
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) =>
        (eventData.Context as HubDbContext)?.TransactionCommitted();

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        (eventData.Context as HubDbContext)?.TransactionCommitted();
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) =>
        (eventData.Context as HubDbContext)?.TransactionAbandoned();

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        (eventData.Context as HubDbContext)?.TransactionAbandoned();
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) =>
        (eventData.Context as HubDbContext)?.TransactionAbandoned();

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        (eventData.Context as HubDbContext)?.TransactionAbandoned();
        return Task.CompletedTask;
    }
}
