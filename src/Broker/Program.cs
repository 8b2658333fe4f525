// Placeholder until the broker lands (issue 2).
var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.Run();
