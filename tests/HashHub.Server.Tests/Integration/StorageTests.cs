using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Tests.Integration;

public sealed class StorageTests
{
    [Test]
    public void EveryProvider_MigrationsMatchTheModel()
    {
        foreach (var db in new HubDbContext[]
        {
            new SqliteDesignTimeFactory().CreateDbContext([]),
            new PostgresDesignTimeFactory().CreateDbContext([]),
            new SqlServerDesignTimeFactory().CreateDbContext([]),
        })
        {
            using (db)
            {
                Assert.That(db.Database.GetMigrations(), Is.Not.Empty, $"{db.Provider} has migrations");
                Assert.That(db.Database.HasPendingModelChanges(), Is.False, $"{db.Provider}: the model changed without a migration; run dotnet ef migrations add");
            }
        }
    }

    /// <summary>No SQL Server runs on our machines: its migrations are built and scripted, not applied.</summary>
    [Test]
    public void SqlServer_MigrationScript_CreatesEveryTable()
    {
        using var db = new SqlServerDesignTimeFactory().CreateDbContext([]);

        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        foreach (var table in new[] { "members", "member_clients", "signals", "contributions", "labels", "changes", "idempotency_records", "hub_settings", "audit_log", "OpenIddictApplications" })
        {
            Assert.That(script, Does.Contain($"CREATE TABLE [{table}]"));
        }
        Assert.That(script, Does.Contain("IDENTITY"));
    }

    [TestCase(StorageProvider.Sqlite)]
    [TestCase(StorageProvider.Postgres)]
    public async Task Start_AppliesMigrationsSeedsLabelsAndKeepsEpochAcrossRestarts(StorageProvider provider)
    {
        long firstEpoch;
        string? connectionString;
        using (var hub = await HubFactory.CreateAsync(provider))
        {
            await using var scope = hub.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            Assert.That(await db.Database.GetPendingMigrationsAsync(), Is.Empty);
            Assert.That(await db.Labels.CountAsync(), Is.GreaterThanOrEqualTo(10));
            firstEpoch = scope.ServiceProvider.GetRequiredService<HashHub.Server.Sync.HubEpoch>().Value;
            connectionString = db.Database.GetConnectionString();
        }
        Assert.That(firstEpoch, Is.Not.Zero);

        if (provider == StorageProvider.Postgres)
        {
            using var again = await HubFactory.CreateAsync(provider, new Dictionary<string, string?> { ["Storage:ConnectionString"] = connectionString });
            Assert.That(again.Services.GetRequiredService<HashHub.Server.Sync.HubEpoch>().Value, Is.EqualTo(firstEpoch));
        }
    }

    /// <summary>
    /// PostgreSQL's JIT compiled each page of a sync for up to 800 ms while the page ran in 5-10 ms, and a read at
    /// the log's head started a parallel worker for 30-60 ms: the hub's sessions run with both off (also after a
    /// pooled connection's reset), unless the operator's connection string says otherwise.
    /// </summary>
    [Test]
    public async Task Postgres_HubSessions_RunWithoutJitOrParallelWorkersUnlessConfigured()
    {
        using (var hub = await HubFactory.CreateAsync(StorageProvider.Postgres))
        {
            for (var i = 0; i < 2; i++)
            {
                // The second scope takes the pooled connection back.
                await using var scope = hub.Services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
                Assert.That(await db.Database.SqlQuery<string>($"SELECT current_setting('jit') AS \"Value\"").SingleAsync(), Is.EqualTo("off"));
                Assert.That(await db.Database.SqlQuery<string>($"SELECT current_setting('max_parallel_workers_per_gather') AS \"Value\"").SingleAsync(), Is.EqualTo("0"));
                Assert.That(await db.Database.SqlQuery<string>($"SELECT current_setting('plan_cache_mode') AS \"Value\"").SingleAsync(), Is.EqualTo("force_custom_plan"));
            }
        }

        var configured = new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = "Host=127.0.0.1;Options=-c jit=on -c work_mem=8MB -c max_parallel_workers_per_gather=2" };
        Assert.That(configured.ResolveConnectionString(), Does.Contain("jit=on").And.Not.Contain("jit=off").And.Contain("work_mem=8MB")
            .And.Contain("max_parallel_workers_per_gather=2").And.Not.Contain("max_parallel_workers_per_gather=0"));
        var plain = new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = "Host=127.0.0.1;Options=-c work_mem=8MB" };
        Assert.That(plain.ResolveConnectionString(), Does.Contain("-c work_mem=8MB -c jit=off -c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_custom_plan"));
    }

    /// <summary>
    /// The hub's statements are prepared after a few runs on a connection (parsing and analysing them again was 3.6%
    /// of PostgreSQL's CPU during ingest), and still planned with their values each time; an operator's pooler may
    /// need preparation off.
    /// </summary>
    [Test]
    public async Task Postgres_RepeatedStatements_ArePreparedUnlessConfigured()
    {
        static int MaxAutoPrepare(string connectionString) =>
            new NpgsqlConnectionStringBuilder(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString }.ResolveConnectionString()).MaxAutoPrepare;
        Assert.Multiple(() =>
        {
            Assert.That(MaxAutoPrepare("Host=127.0.0.1"), Is.EqualTo(StorageOptions.PostgresMaxAutoPrepare));
            Assert.That(MaxAutoPrepare("Host=127.0.0.1;Max Auto Prepare=0"), Is.Zero);
            Assert.That(MaxAutoPrepare("Host=127.0.0.1;MaxAutoPrepare=7"), Is.EqualTo(7));
        });

        // On a real server: a statement run a few times on a hub session is prepared there, and not when preparation is off.
        var database = await (await TestEnvironment.Postgres).CreateDatabaseAsync();
        async Task<List<string>> PreparedAfterRepeats(string connectionString)
        {
            await using var connection = new NpgsqlConnection(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString }.ResolveConnectionString());
            await connection.OpenAsync();
            for (var i = 0; i < 6; i++)
            {
                await using var repeated = new NpgsqlCommand("SELECT count(*) FROM pg_class WHERE relpages > $1", connection) { Parameters = { new() { Value = i } } };
                await repeated.ExecuteScalarAsync();
            }
            var prepared = new List<string>();
            await using var list = new NpgsqlCommand("SELECT statement FROM pg_prepared_statements", connection);
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                prepared.Add(reader.GetString(0));
            }
            return prepared;
        }
        Assert.That(await PreparedAfterRepeats(database), Has.Some.Contains("FROM pg_class"));
        Assert.That(await PreparedAfterRepeats(database + ";Max Auto Prepare=0"), Is.Empty);
    }

    /// <summary>
    /// A pooled connection's reset (DISCARD ALL) was about five statements per ingested batch; the hub leaves no
    /// session state, so it is off unless the operator's connection string sets it.
    /// </summary>
    [Test]
    public void Postgres_PooledConnections_AreNotResetUnlessConfigured()
    {
        static bool NoReset(string connectionString) =>
            new NpgsqlConnectionStringBuilder(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString }.ResolveConnectionString()).NoResetOnClose;

        Assert.Multiple(() =>
        {
            Assert.That(NoReset("Host=127.0.0.1"), Is.True);
            Assert.That(NoReset("Host=127.0.0.1;No Reset On Close=false"), Is.False);
            Assert.That(NoReset("Host=127.0.0.1;NoResetOnClose=false"), Is.False);
        });
    }

    [Test]
    public async Task Postgres_SignalValues_AreStoredAsTaggedBytesAndReadBackExactly()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Postgres);
        using var client = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        var pdq = TestSignals.RandomPdq(new Random(20261129));
        var md5 = TestSignals.RandomMd5();
        var url = new Proto.Signal { Type = Proto.SignalType.Url, Value = "https://example.com/watch?v=abc" };
        var submitted = await client.Contributions.SubmitContributionsAsync(TestSignals.Batch(TestSignals.Item(pdq), TestSignals.Item(md5), TestSignals.Item(url)));

        await using var scope = hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        Assert.That(await db.Database.SqlQuery<string>($"""
            SELECT data_type AS "Value" FROM information_schema.columns WHERE table_name = 'signals' AND column_name = 'Value'
            """).SingleAsync(), Is.EqualTo("bytea"));
        var stored = await db.Database.SqlQuery<StoredRow>($"""SELECT "Id", get_byte("Value", 0) AS "Tag", octet_length("Value") AS "Length" FROM signals""").ToListAsync();
        var byId = stored.ToDictionary(r => r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Multiple(() =>
        {
            Assert.That(byId[submitted.Results[0].SignalId], Is.EqualTo(new StoredRow(long.Parse(submitted.Results[0].SignalId), 1, 33)), "PDQ: 32 bytes after the tag");
            Assert.That(byId[submitted.Results[1].SignalId], Is.EqualTo(new StoredRow(long.Parse(submitted.Results[1].SignalId), 1, 17)), "MD5: 16 bytes after the tag");
            Assert.That(byId[submitted.Results[2].SignalId].Tag, Is.Zero, "URL: text");
        });

        // Read back the same through every path: by value, by id, the log, and a second contribution of each.
        var changes = await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = 10 });
        var again = await client.Contributions.SubmitContributionsAsync(TestSignals.Batch(TestSignals.Item(pdq), TestSignals.Item(md5), TestSignals.Item(url)));
        Assert.Multiple(async () =>
        {
            foreach (var (signal, i) in new[] { pdq, md5, url }.Select((s, i) => (s, i)))
            {
                var byValue = await client.Contributions.GetSignalAsync(new Proto.GetSignalRequest { Signal = signal });
                Assert.That(byValue.Id, Is.EqualTo(submitted.Results[i].SignalId));
                Assert.That(byValue.Signal.Value, Is.EqualTo(signal.Value));
                Assert.That(changes.Changes.Single(c => c.Signal.Id == byValue.Id).Signal.Signal.Value, Is.EqualTo(signal.Value));
                Assert.That(again.Results[i].SignalId, Is.EqualTo(byValue.Id));
                Assert.That(again.Results[i].SignalCreated, Is.False);
            }
        });
    }

    private sealed record StoredRow(long Id, int Tag, int Length);

    [Test]
    public async Task Postgres_IdempotencyResponses_AreCompressedWithLz4AndReplayExactly()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Postgres);
        using var client = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        var random = new Random(20261129);
        // 300 results: an answer well past the 2 KB at which PostgreSQL compresses a value.
        var batch = TestSignals.Batch([.. Enumerable.Range(0, 300).Select(_ => TestSignals.Item(TestSignals.RandomPdq(random)))]);
        var first = await client.Contributions.SubmitContributionsAsync(batch);

        await using var scope = hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var compression = await db.Database.SqlQuery<string?>($"""
            SELECT pg_column_compression("Response") AS "Value" FROM idempotency_records
            """).ToListAsync();
        Assert.That(compression, Is.EqualTo(new[] { "lz4" }));

        var replay = await client.Contributions.SubmitContributionsAsync(batch);
        Assert.Multiple(() =>
        {
            Assert.That(replay.Replayed, Is.True);
            Assert.That(replay.Results, Is.EqualTo(first.Results));
        });
    }

    /// <summary>
    /// WAL and synchronous=FULL keep acknowledged writes durable across a machine crash; the larger page cache and
    /// the memory map keep bulk ingest from rereading the signal index from the file.
    /// </summary>
    [Test]
    public async Task Sqlite_HubConnections_AreDurableWithLargeCache()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        await using var scope = hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        await db.Database.OpenConnectionAsync();
        try
        {
            async Task<string?> Pragma(string name)
            {
                await using var command = db.Database.GetDbConnection().CreateCommand();
                command.CommandText = "PRAGMA " + name;
                return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            }
            Assert.That(await Pragma("journal_mode"), Is.EqualTo("wal"));
            Assert.That(await Pragma("synchronous"), Is.EqualTo("2"), "FULL");
            Assert.That(await Pragma("cache_size"), Is.EqualTo("-65536"));
            Assert.That(await Pragma("mmap_size"), Is.EqualTo("268435456"));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}
