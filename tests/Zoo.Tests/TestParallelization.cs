using Xunit;

// Test classes run one at a time. TorchSharp 0.107 turns a number passed where an op takes a Scalar (x.add(y, alpha: a),
// x * 2.0, ...) into a Scalar object with a finalizer, reads its native handle and makes the native call without keeping
// the object alive; a garbage collection started by another thread during that call can free the scalar under libtorch
// (seen as "Expected false to be true" from c10::Scalar, about one full test run in five when classes ran in parallel on
// 2 cores). With one test thread no other thread allocates while an op runs. Zoo's own runs train on one thread
// (BatchPrefetcher builds inline on the CPU). Upstream: dotnet/TorchSharp pull requests 1434 and 1496.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
