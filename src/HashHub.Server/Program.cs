using HashHub.Server.Extensions;
using HashHub.Server.Membership;

var builder = WebApplication.CreateBuilder(args);
builder.AddHashHubStorage();
builder.AddHashHubAuth();
builder.AddHashHubGrpc();

var app = builder.Build();
app.MapHashHub();

if (AdminCommands.Handles(args))
{
    return await AdminCommands.RunAsync(app.Services, args, Console.Out);
}
await app.RunAsync();
return 0;

public partial class Program;
