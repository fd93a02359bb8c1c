using Zoo.Core.Options;
using Zoo.Core.Tasks;
using Zoo.Runner;
using Zoo.Tasks.Files;
using static TorchSharp.torch;

namespace Zoo.Tests;

using static NpyFiles;

/// <summary>The file task: .npy / .npz / .jsonl written byte by byte here, read back, batched, scored; and its errors.</summary>
public sealed class FileTaskTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("zoo-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private string Npz(string name, params (string Array, byte[] Npy)[] arrays) => NpyFiles.Npz(PathOf(name), arrays);

    private string Write(string name, byte[] bytes)
    {
        File.WriteAllBytes(PathOf(name), bytes);
        return PathOf(name);
    }

    private string Write(string name, string text)
    {
        File.WriteAllText(PathOf(name), text);
        return PathOf(name);
    }

    private static long[] Longs(Tensor t) => t.to(ScalarType.Int64).data<long>().ToArray();

    [Fact]
    public void Npz_token_classification_reads_batches_in_file_order_and_cycles()
    {
        // 4 rows of length 3: inputs int32, targets int64 with one −100, mask bool; test file separate.
        var train = Npz("train.npz",
            ("inputs", Npy("<i4", new long[] { 4, 3 }, I32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))),
            ("targets", Npy("<i8", new long[] { 4, 3 }, I64(1, 2, -100, 4, 5, 6, 7, 8, 9, 0, 1, 2))),
            ("mask", Npy("|b1", new long[] { 4, 3 }, new byte[] { 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1 })));
        var test = Npz("test.npz",
            ("inputs", Npy("<i8", new long[] { 2, 3 }, I64(3, 2, 1, 1, 2, 3))),
            ("targets", Npy("<i8", new long[] { 2, 3 }, I64(2, 1, 0, 0, 0, 0))));
        var task = new FileTask(new FileTaskOptions { Train = train, Test = test });
        Assert.Equal(new TaskSignature(12, 0, 10, 3), task.Signature);          // vocab = 1 + max token 11, classes = 1 + max 9
        Assert.Equal(("accuracy", true, 2, 4), (task.PrimaryMetric, task.HigherIsBetter, task.TestExamples, task.TrainExamples));
        using var b = task.Batch(Split.Train, seed: 9, firstExample: 3, count: 3);   // rows 3, 0, 1
        Assert.Equal(new long[] { 9, 10, 11, 0, 1, 2, 3, 4, 5 }, Longs(b.Inputs));
        Assert.Equal(new long[] { 0, 1, 2, 1, 2, 0, 4, 5, 6 }, Longs(b.Targets));
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 0, 1, 1 }, Longs(b.Mask));     // −100 and mask = false are unscored
        using var again = task.Batch(Split.Train, seed: 0, firstExample: 7, count: 3);
        Assert.Equal(Longs(b.Inputs), Longs(again.Inputs));                        // same rows: file order, no seed
        using var t = task.Batch(Split.Test, 0, 0, 2);
        Assert.Equal(new long[] { 3, 2, 1, 1, 2, 3 }, Longs(t.Inputs));

        // A predictor that always says class 2 is right exactly where the target is 2.
        var logits = zeros(2, 3, 10);
        logits[.., .., 2] = 1f;
        Assert.Equal(new MetricTally(1, 6), task.Metrics(logits, t)["accuracy"]);
    }

    [Fact]
    public void Npz_real_inputs_and_targets_use_mse()
    {
        var path = Npz("reals.npz",
            ("inputs", Npy("<f4", new long[] { 2, 2, 3 }, F32(Enumerable.Range(0, 12).Select(i => (float)i).ToArray()))),
            ("targets", Npy("<f8", new long[] { 2, 2 }, F64(1, 2, 3, 4))),
            ("mask", Npy("<i8", new long[] { 2, 2 }, I64(1, 1, 1, 0))));
        var task = new FileTask(new FileTaskOptions { Train = path, TestFraction = 0.5 });
        Assert.Equal(new TaskSignature(0, 3, 1, 2), task.Signature);
        Assert.Equal(("mse", false, 1, 1), (task.PrimaryMetric, task.HigherIsBetter, task.TestExamples, task.TrainExamples));
        using var test = task.Batch(Split.Test, 0, 0, 1);                          // the last row: targets 3, 4; mask 1, 0
        Assert.Equal(new long[] { 1, 2, 3 }, test.Inputs.shape);
        Assert.Equal(6f, test.Inputs[0, 0, 0].item<float>());
        var constant = zeros(1, 2, 1);                                            // constant prediction 0
        Assert.Equal(new MetricTally(9, 1), task.Metrics(constant, test)["mse"]);  // only position 0 scored: (3 − 0)²
        Assert.Equal(9f, task.Loss(constant, test).item<float>(), 5);
    }

    [Fact]
    public void Single_npy_of_token_ids_is_next_token_prediction()
    {
        var path = Write("seq.npy", Npy("<i8", new long[] { 10, 5 }, I64(Enumerable.Range(0, 50).Select(i => (long)(i % 7)).ToArray())));
        var task = new FileTask(new FileTaskOptions { Train = path, Vocab = 7, Classes = 7 });
        Assert.Equal(new TaskSignature(7, 0, 7, 4), task.Signature);
        Assert.Equal((1, 9), (task.TestExamples, task.TrainExamples));
        using var b = task.Batch(Split.Train, 0, 0, 1);
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Longs(b.Inputs));
        Assert.Equal(new long[] { 1, 2, 3, 4 }, Longs(b.Targets));
        Assert.True(b.Mask.all().item<bool>());
    }

    [Fact]
    public void Json_lines_read_tokens_reals_and_masks()
    {
        var tokens = Write("t.jsonl", """
            {"inputs": [1, 2, 3], "targets": [2, 3, -100]}

            {"inputs": [3, 2, 1], "targets": [2, 1, 0]}
            {"inputs": [0, 0, 0], "targets": [1, 1, 1]}
            """);
        var task = new FileTask(new FileTaskOptions { Train = tokens, TestFraction = 0.34 });
        Assert.Equal(new TaskSignature(4, 0, 4, 3), task.Signature);
        Assert.Equal((1, 2), (task.TestExamples, task.TrainExamples));
        using var b = task.Batch(Split.Train, 0, 0, 2);
        Assert.Equal(new long[] { 1, 1, 0, 1, 1, 1 }, Longs(b.Mask));

        var reals = Write("r.jsonl", """
            {"inputs": [[0.5, 1], [1, 2]], "targets": [0.25, 1.5], "mask": [true, false]}
            {"inputs": [[1.5, 0], [2, 2]], "targets": [1, 2], "mask": [1, 1]}
            """);
        var r = new FileTask(new FileTaskOptions { Train = reals, TestFraction = 0.5 });
        Assert.Equal(new TaskSignature(0, 2, 1, 2), r.Signature);
        Assert.Equal("mse", r.PrimaryMetric);
        using var rb = r.Batch(Split.Train, 0, 0, 1);
        Assert.Equal(0.25f, rb.Targets[0, 0, 0].item<float>());
        Assert.Equal(new long[] { 1, 0 }, Longs(rb.Mask));
    }

    [Fact]
    public void Options_force_reals_and_explicit_sizes_are_checked()
    {
        var path = Write("ints.jsonl", "{\"inputs\": [1, 2], \"targets\": [0, 1]}\n{\"inputs\": [2, 1], \"targets\": [1, 0]}\n");
        var forced = new FileTask(new FileTaskOptions { Train = path, TestFraction = 0.5, Inputs = FileInputKind.Reals, Targets = FileTargetKind.Reals });
        Assert.Equal(new TaskSignature(0, 1, 1, 2), forced.Signature);
        var e = Assert.Throws<ZooConfigException>(() => new FileTask(new FileTaskOptions { Train = path, TestFraction = 0.5, Vocab = 2 }));
        Assert.Contains("ints.jsonl: vocab: token id 2 (row 0, position 1) is not below vocab 2", e.Message);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "npz-missing-array", "targets: missing from the archive; it holds: inputs" },
        { "wrong-target-shape", "targets: has shape [2, 4]; expected [N, L] or [N, L, O] with N = 2, L = 3 as in inputs" },
        { "big-endian", "inputs: dtype '>i8' is big-endian" },
        { "unsupported-dtype", "inputs: dtype '<c16' is not supported" },
        { "fortran", "inputs: is stored in Fortran order" },
        { "truncated", "inputs: truncated: shape [2, 3] of <i8 needs 48 bytes" },
        { "not-npy", "inputs: not a .npy array" },
        { "float-tokens", "inputs: has dtype <f4; token ids must be integers" },
        { "bad-class", "targets: holds class id -3 at row 1, position 0" },
        { "bad-mask", "mask: holds 2 at row 0, position 1" },
        { "npy-1d", "a single .npy must hold token ids [N, L + 1]" },
        { "jsonl-ragged", "line 2: \"inputs\" has shape [2]; every line needs [3]" },
        { "jsonl-key", "line 1: unknown key 'input'" },
        { "jsonl-json", "line 1: malformed JSON" },
        { "jsonl-mask", "line 2: \"mask\" must be given on every line or on none" },
        { "test-layout", "has L 2, token inputs, class targets; the training file has L 3" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_name_the_file_the_array_and_what_was_expected(string kind, string expected)
    {
        var good = Npy("<i8", new long[] { 2, 3 }, I64(0, 1, 2, 3, 4, 5));
        string file = kind switch
        {
            "npz-missing-array" => Npz("a.npz", ("inputs", good)),
            "wrong-target-shape" => Npz("a.npz", ("inputs", good), ("targets", Npy("<i8", new long[] { 2, 4 }, I64(new long[8])))),
            "big-endian" => Npz("a.npz", ("inputs", Npy(">i8", new long[] { 2, 3 }, new byte[48])), ("targets", good)),
            "unsupported-dtype" => Npz("a.npz", ("inputs", Npy("<c16", new long[] { 2, 3 }, new byte[96])), ("targets", good)),
            "fortran" => Npz("a.npz", ("inputs", Npy("<i8", new long[] { 2, 3 }, new byte[48], fortran: true)), ("targets", good)),
            "truncated" => Npz("a.npz", ("inputs", Npy("<i8", new long[] { 2, 3 }, new byte[40])), ("targets", good)),
            "not-npy" => Npz("a.npz", ("inputs", "hello, not an array"u8.ToArray()), ("targets", good)),
            "float-tokens" => Npz("a.npz", ("inputs", Npy("<f4", new long[] { 2, 3 }, new byte[24])), ("targets", good)),
            "bad-class" => Npz("a.npz", ("inputs", good), ("targets", Npy("<i8", new long[] { 2, 3 }, I64(0, 0, 0, -3, 0, 0)))),
            "bad-mask" => Npz("a.npz", ("inputs", good), ("targets", good), ("mask", Npy("<i4", new long[] { 2, 3 }, I32(1, 2, 1, 1, 1, 1)))),
            "npy-1d" => Write("a.npy", Npy("<i8", new long[] { 6 }, I64(new long[6]))),
            "jsonl-ragged" => Write("a.jsonl", "{\"inputs\": [1, 2, 3], \"targets\": [1, 2, 3]}\n{\"inputs\": [1, 2], \"targets\": [1, 2]}\n"),
            "jsonl-key" => Write("a.jsonl", "{\"input\": [1], \"targets\": [1]}\n"),
            "jsonl-json" => Write("a.jsonl", "{\"inputs\": [1, \n"),
            "jsonl-mask" => Write("a.jsonl", "{\"inputs\": [1], \"targets\": [1], \"mask\": [1]}\n{\"inputs\": [1], \"targets\": [1]}\n"),
            _ => Npz("a.npz", ("inputs", good), ("targets", good)),
        };
        var options = new FileTaskOptions { Train = file, TestFraction = 0.5 };
        if (kind == "float-tokens") options = options with { Inputs = FileInputKind.Tokens };
        if (kind == "test-layout")
            options = options with { Test = Write("b.jsonl", "{\"inputs\": [1, 2], \"targets\": [1, 2]}\n") };
        var e = Assert.Throws<ZooConfigException>(() => new FileTask(options));
        Assert.Contains(kind == "test-layout" ? options.Test : file, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_suite_with_a_missing_file_fails_up_front_naming_the_option()
    {
        var suite = Write("s.json", $$"""
            { "name": "f", "layers": ["lstm"], "tasks": [ { "name": "file", "options": { "train": "{{PathOf("nope.npz")}}" } } ] }
            """);
        var e = Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(suite, new RunSettings()));
        Assert.Contains("tasks[0].options.train: file not found", e.Message);
        var noPath = Write("s2.json", """{ "name": "f", "layers": ["lstm"], "tasks": ["file"] }""");
        Assert.Contains("tasks[0].options.train: empty", Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(noPath, new RunSettings())).Message);
        var badExtension = Write("s3.json", """{ "name": "f", "layers": ["lstm"], "tasks": [ { "name": "file", "options": { "train": "data.csv" } } ] }""");
        Assert.Contains("unknown extension; allowed: .npz, .jsonl, .npy", Assert.Throws<ZooConfigException>(() => SuiteRunner.Plan(badExtension, new RunSettings())).Message);
    }

    [Fact]
    public void A_suite_trains_on_a_file_task_end_to_end()
    {
        var rows = Enumerable.Range(0, 20).Select(i => $"{{\"inputs\": [{i % 5}, {(i + 1) % 5}, {(i + 2) % 5}, {(i + 3) % 5}], \"targets\": [{(i + 1) % 5}, {(i + 2) % 5}, {(i + 3) % 5}, {(i + 4) % 5}]}}");
        var data = Write("cycle.jsonl", string.Join("\n", rows));
        var suite = Write("run.json", $$"""
            { "name": "filerun", "defaults": { "model": { "d_model": 16, "n_layers": 1, "mlp_ratio": 1 }, "train": { "steps": 4, "batch": 4, "warmup": 1, "eval_every": 2 } },
              "layers": [ "lstm" ], "tasks": [ { "name": "file", "options": { "train": "{{data}}", "test_fraction": 0.2 } } ] }
            """);
        var result = new SuiteRunner().Run(suite, new RunSettings(PathOf("out")));
        Assert.Equal("ok", result.Single().Status);
        Assert.Equal("accuracy", result.Single().Metric);
    }
}
