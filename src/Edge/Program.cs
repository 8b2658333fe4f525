// Placeholder until the edge lands (issue 3).
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.Run();
