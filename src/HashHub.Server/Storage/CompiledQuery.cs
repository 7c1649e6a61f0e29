using System.Collections.Concurrent;

namespace HashHub.Server.Storage;

/// <summary>
/// A query compiled once per kind of <see cref="HubDbContext"/> (<c>EF.CompileAsyncQuery</c>), for the queries on the
/// hub's hot paths: without it EF Core walks, hashes and looks up the query's expression tree on every call. EF
/// Core ties a compiled query to the model it first ran against, and each provider's context has its own model
/// (a process can host more than one, as the tests do), hence one per context type.
/// </summary>
internal sealed class CompiledQuery<TQuery>(Func<TQuery> compile)
    where TQuery : Delegate
{
    private readonly ConcurrentDictionary<Type, TQuery> _byContextType = new();

    public TQuery For(HubDbContext db) => _byContextType.GetOrAdd(db.GetType(), static (_, compile) => compile(), compile);
}
