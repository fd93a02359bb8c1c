using BenchmarkDotNet.Running;

// dotnet run --project benchmarks/Zoo.Benchmarks -c Release -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Zoo.Benchmarks.LayerThroughput).Assembly).Run(args);
