using FhirPriorAuth.Server.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddFhirPriorAuth();

var app = builder.Build();
app.UseFhirPriorAuth();
app.Run();
