using HashHub.Server;
using HashHub.Server.Membership;

var app = HashHubApp.Create(args);
if (AdminCommands.Handles(args))
{
    return await AdminCommands.RunAsync(app.Services, args, Console.Out);
}
await app.RunAsync();
return 0;

public partial class Program;
