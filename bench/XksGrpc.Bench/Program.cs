// Placeholder until the benchmark lands (issue 6).
return 0;
