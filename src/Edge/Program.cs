// XksGrpc.Edge: the XKS Proxy API endpoint that AWS KMS calls (issue 3). The request path, in
// order: Hosting (Kestrel, TLS) → Routing (classify, 404/405) → Authentication (SigV4) →
// Validation → Authorization → Forwarding (YARP, JSON↔gRPC) → Errors/Logging.
return await XksGrpc.Edge.Hosting.EdgeCommandLine.RunAsync(args, Console.Out, Console.Error);
