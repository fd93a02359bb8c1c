using System.Text.Json;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using Zoo.Core.Tasks;
using static TorchSharp.torch;

namespace Zoo.Tasks.Files;

/// <summary>How <see cref="FileTask"/> reads the inputs array.</summary>
public enum FileInputKind
{
    /// <summary>Integer <c>[N, L]</c> arrays are token ids; anything else is real-valued.</summary>
    Auto,
    /// <summary>Token ids <c>[N, L]</c>.</summary>
    Tokens,
    /// <summary>Real inputs <c>[N, L]</c> (one channel) or <c>[N, L, I]</c>.</summary>
    Reals,
}

/// <summary>How <see cref="FileTask"/> reads the targets array.</summary>
public enum FileTargetKind
{
    /// <summary>Integer <c>[N, L]</c> arrays are class ids; anything else is real-valued.</summary>
    Auto,
    /// <summary>Class ids <c>[N, L]</c>; −100 marks an unscored position. Cross-entropy loss, accuracy metric.</summary>
    Classes,
    /// <summary>Real targets <c>[N, L]</c> or <c>[N, L, O]</c>. Mean squared error loss and metric.</summary>
    Reals,
}

/// <summary>Options of <see cref="FileTask"/>: where the data are and how to read them.</summary>
public sealed record FileTaskOptions : IValidatableOptions
{
    /// <summary>Training data file.</summary>
    [Option("training data: .npz (arrays inputs, targets, optional mask), .jsonl (one {\"inputs\", \"targets\", \"mask\"} object per line) or .npy (token ids [N, L + 1], next-token targets); relative paths from the working directory")]
    public string Train { get; init; } = "";

    /// <summary>Test data file in the same format; empty takes the test split from the end of the training file.</summary>
    [Option("test data in the same format; empty = the last test_fraction of the training rows")]
    public string Test { get; init; } = "";

    /// <summary>Share of the training file's rows (its last rows) held out for testing when <see cref="Test"/> is empty.</summary>
    [Option("share of the training rows (the last ones) held out as the test split when test is empty", Min = 0, Max = 1, MinExclusive = true, MaxExclusive = true)]
    public double TestFraction { get; init; } = 0.1;

    /// <summary>How to read inputs.</summary>
    [Option("inputs: auto (integer [N, L] = token ids, else reals), tokens or reals")]
    public FileInputKind Inputs { get; init; } = FileInputKind.Auto;

    /// <summary>How to read targets.</summary>
    [Option("targets: auto (integer [N, L] = class ids, else reals), classes or reals")]
    public FileTargetKind Targets { get; init; } = FileTargetKind.Auto;

    /// <summary>Token vocabulary; 0 infers 1 + the largest token id in the train and test data.</summary>
    [Option("token vocabulary (0 = 1 + the largest token id in the data)", Min = 0)]
    public int Vocab { get; init; }

    /// <summary>Number of classes; 0 infers 1 + the largest class id in the train and test data.</summary>
    [Option("number of classes (0 = 1 + the largest class id in the data)", Min = 0)]
    public int Classes { get; init; }

    /// <inheritdoc />
    public IEnumerable<(string Field, string Message)> Validate(int dModel)
    {
        foreach (var (field, path) in new[] { ("train", Train), ("test", Test) })
        {
            if (path.Length == 0)
            {
                if (field == "train") yield return (field, "empty; give the path of a .npz, .jsonl or .npy file");
                continue;
            }
            if (!FileTask.Formats.Contains(Path.GetExtension(path).ToLowerInvariant()))
                yield return (field, $"'{path}' has an unknown extension; allowed: {string.Join(", ", FileTask.Formats)}");
            else if (!File.Exists(path))
                yield return (field, $"file not found: {Path.GetFullPath(path)}");
        }
    }
}

/// <summary>
/// "Bring your own data": a task whose sequences come from files — NumPy <c>.npz</c> (arrays <c>inputs</c>,
/// <c>targets</c> and optional <c>mask</c>), JSON Lines (<c>{"inputs": [...], "targets": [...], "mask": [...]}</c> per
/// line) or a single <c>.npy</c> of token ids <c>[N, L + 1]</c> for next-token prediction. Inputs are token ids
/// <c>[N, L]</c> or reals <c>[N, L]</c> / <c>[N, L, I]</c>; targets are class ids <c>[N, L]</c> (cross-entropy, accuracy;
/// −100 = unscored) or reals <c>[N, L]</c> / <c>[N, L, O]</c> (mean squared error); the mask (bool or 0/1, default all
/// true) picks the scored positions. Training example i is row i mod N_train (file order, cycling); the test split is
/// the test file, or the last <c>test_fraction</c> of the training rows. The data do not depend on the run seed.
/// A config hash covers the file paths, not their contents: give changed data a new file name.
/// </summary>
[ZooTask("file", typeof(FileTaskOptions), Summary = "bring your own data: sequences from .npz, .npy or .jsonl (classes or reals)")]
public sealed class FileTask : ISequenceTask
{
    /// <summary>Accepted file extensions.</summary>
    public static readonly IReadOnlyList<string> Formats = new[] { ".npz", ".jsonl", ".npy" };

    private readonly Rows _train, _test;
    private readonly Table _data;

    /// <summary>Reads and checks the data; problems are <see cref="ZooConfigException"/>s naming the file and array.</summary>
    public FileTask(FileTaskOptions options)
    {
        var train = Table.Load(options.Train, options);
        if (options.Test.Length > 0)
        {
            var test = Table.Load(options.Test, options);
            test.CheckMatches(train, options.Test);
            _data = Table.Concat(train, test);
            (_train, _test) = (new Rows(0, train.N), new Rows(train.N, test.N));
        }
        else
        {
            int nTest = (int)Math.Round(train.N * options.TestFraction);
            if (nTest < 1 || nTest >= train.N)
                throw new ZooConfigException(options.Train, null,
                    $"{train.N} rows cannot be split by test_fraction {options.TestFraction}: it leaves {train.N - nTest} for training and {nTest} for testing; give a test file or another test_fraction");
            _data = train;
            (_train, _test) = (new Rows(0, train.N - nTest), new Rows(train.N - nTest, nTest));
        }
        CheckScored(_train, "training", options.Train);
        CheckScored(_test, "test", options.Test.Length > 0 ? options.Test : options.Train);
        int vocab = _data.InputDim == 0 ? Count(options.Vocab, _data.Tokens!, "token id", "vocab", options) : 0;
        int classes = _data.OutputDim == 0 ? Count(options.Classes, _data.Classes!, "class id", "classes", options) : 0;
        Signature = new TaskSignature(vocab, _data.InputDim, _data.OutputDim == 0 ? classes : _data.OutputDim, _data.L);
    }

    /// <inheritdoc />
    public TaskSignature Signature { get; }

    /// <summary>True when targets are class ids (accuracy); false for reals (MSE).</summary>
    public bool ClassTargets => _data.OutputDim == 0;

    /// <inheritdoc />
    public string PrimaryMetric => ClassTargets ? "accuracy" : "mse";

    /// <inheritdoc />
    public bool HigherIsBetter => ClassTargets;

    /// <inheritdoc />
    public int TestExamples => _test.Count;

    /// <summary>Rows in the training split.</summary>
    public int TrainExamples => _train.Count;

    /// <summary>Example i of a split is row i mod (rows in the split), in file order; <paramref name="seed"/> is not used.</summary>
    public TaskBatch Batch(Split split, long seed, long firstExample, int count)
    {
        var rows = split == Split.Train ? _train : _test;
        int l = _data.L;
        var rowIndex = Enumerable.Range(0, count).Select(b => rows.First + (int)((firstExample + b) % rows.Count)).ToArray();
        Tensor inputs, targets;
        if (_data.InputDim == 0)
            inputs = tensor(Gather(_data.Tokens!, rowIndex, l), new long[] { count, l });
        else
            inputs = tensor(Gather(_data.RealInputs!, rowIndex, l * _data.InputDim), new long[] { count, l, _data.InputDim });
        if (_data.OutputDim == 0)
            targets = tensor(Gather(_data.Classes!, rowIndex, l), new long[] { count, l });
        else
            targets = tensor(Gather(_data.RealTargets!, rowIndex, l * _data.OutputDim), new long[] { count, l, _data.OutputDim });
        var mask = tensor(Gather(_data.Mask, rowIndex, l), new long[] { count, l });
        return new TaskBatch(inputs, targets, mask);
    }

    /// <summary>Cross-entropy on masked positions for class targets; mean squared error over masked positions and outputs for reals.</summary>
    public Tensor Loss(Tensor output, TaskBatch batch)
    {
        if (ClassTargets) return TokenClassification.Loss(output, batch);
        using var scope = NewDisposeScope();
        var (sum, count) = SquaredError(output, batch);
        return (sum / count.clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MetricTally> Metrics(Tensor output, TaskBatch batch)
    {
        if (ClassTargets) return new Dictionary<string, MetricTally> { ["accuracy"] = TokenClassification.Accuracy(output, batch) };
        using var scope = NewDisposeScope();
        var (sum, count) = SquaredError(output, batch);
        return new Dictionary<string, MetricTally> { ["mse"] = new(sum.to(ScalarType.Float64).item<double>(), count.to(ScalarType.Float64).item<double>()) };
    }

    private static (Tensor Sum, Tensor Count) SquaredError(Tensor output, TaskBatch batch)
    {
        var m = batch.Mask.unsqueeze(-1).to(output.dtype);
        var sum = ((output - batch.Targets.to(output.dtype)).square() * m).sum();
        return (sum, m.sum() * output.shape[^1]);
    }

    private int Count(int given, long[] values, string what, string field, FileTaskOptions o)
    {
        long max = values.Length == 0 ? 0 : values.Max();
        long limit = given == 0 ? int.MaxValue - 1 : given - 1;
        if (max <= limit) return given == 0 ? (int)max + 1 : given;
        long at = Array.IndexOf(values, max);
        bool inTest = at >= _test.First * _data.L && o.Test.Length > 0;
        var where = $"{what} {max} (row {at / _data.L - (inTest ? _test.First : 0)}, position {at % _data.L})";
        throw new ZooConfigException(inTest ? o.Test : o.Train, field, given == 0
            ? $"{where} is too large; allowed: ids in [0, {int.MaxValue - 1}] ({field} = 1 + the largest id is a 32-bit integer)"
            : $"{where} is not below {field} {given}; raise {field} or leave it 0 to infer it");
    }

    // A split without one scored position has a loss of 0 / 0: refuse it here rather than record the run as diverged.
    private void CheckScored(Rows rows, string split, string file)
    {
        if (Array.IndexOf(_data.Mask, true, rows.First * _data.L, rows.Count * _data.L) < 0)
            throw new ZooConfigException(file, "targets", $"the {split} split ({rows.Count} row{(rows.Count == 1 ? "" : "s")}) scores no position: every target is −100 or masked; allowed: at least one scored target per split");
    }

    private static T[] Gather<T>(T[] source, int[] rows, int width)
    {
        var result = new T[rows.Length * width];
        for (int b = 0; b < rows.Length; b++) Array.Copy(source, (long)rows[b] * width, result, (long)b * width, width);
        return result;
    }

    private readonly record struct Rows(int First, int Count);

    /// <summary>
    /// The rows of one or two files in one layout: token inputs (<see cref="InputDim"/> = 0) or reals [N, L, I]; class
    /// targets (<see cref="OutputDim"/> = 0) or reals [N, L, O]; a mask [N, L].
    /// </summary>
    private sealed record Table(int N, int L, int InputDim, int OutputDim, long[]? Tokens, float[]? RealInputs,
        long[]? Classes, float[]? RealTargets, bool[] Mask)
    {
        public static Table Load(string path, FileTaskOptions o)
        {
            if (!File.Exists(path)) throw new ZooConfigException(path, null, $"file not found: {Path.GetFullPath(path)}");
            var (inputs, targets, mask) = Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".npz" => FromArchive(path),
                ".npy" => NextToken(Npy.ReadFile(path), path),
                _ => JsonLines.Read(path),
            };
            return Interpret(inputs, targets, mask, path, o);
        }

        public static Table Concat(Table a, Table b) => a with
        {
            N = a.N + b.N,
            Tokens = Join(a.Tokens, b.Tokens),
            RealInputs = Join(a.RealInputs, b.RealInputs),
            Classes = Join(a.Classes, b.Classes),
            RealTargets = Join(a.RealTargets, b.RealTargets),
            Mask = Join(a.Mask, b.Mask)!,
        };

        public void CheckMatches(Table train, string file)
        {
            string Layout(Table t) => $"L {t.L}, " + (t.InputDim == 0 ? "token inputs" : $"real inputs of width {t.InputDim}") + ", "
                + (t.OutputDim == 0 ? "class targets" : $"real targets of width {t.OutputDim}");
            if (L != train.L || InputDim != train.InputDim || OutputDim != train.OutputDim)
                throw new ZooConfigException(file, null, $"has {Layout(this)}; the training file has {Layout(train)}");
        }

        private static T[]? Join<T>(T[]? a, T[]? b) => a is null || b is null ? null : a.Concat(b).ToArray();

        private static (NumericArray, NumericArray, NumericArray?) FromArchive(string path)
        {
            var arrays = Npy.ReadArchive(path);
            NumericArray Need(string name) => arrays.TryGetValue(name, out var a) ? a
                : throw new ZooConfigException(path, name, $"missing from the archive; it holds: {(arrays.Count == 0 ? "no arrays" : string.Join(", ", arrays.Keys))} (expected inputs, targets and optionally mask)");
            return (Need("inputs"), Need("targets"), arrays.GetValueOrDefault("mask"));
        }

        // A single array of token ids [N, L + 1]: inputs are [:, :-1], targets the next tokens [:, 1:].
        private static (NumericArray, NumericArray, NumericArray?) NextToken(NumericArray a, string path)
        {
            if (a.Shape.Length != 2 || a.Shape[1] < 2 || !a.IsInteger)
                throw new ZooConfigException(path, null,
                    $"a single .npy must hold token ids [N, L + 1] of an integer dtype (inputs [:, :-1], next-token targets [:, 1:]); it has shape {a.ShapeText} and dtype {a.Dtype}. For other data use .npz with inputs and targets");
            long n = a.Shape[0], w = a.Shape[1];
            var x = new long[n * (w - 1)];
            var y = new long[n * (w - 1)];
            for (long r = 0; r < n; r++)
            {
                Array.Copy(a.Integers!, r * w, x, r * (w - 1), w - 1);
                Array.Copy(a.Integers!, r * w + 1, y, r * (w - 1), w - 1);
            }
            long[] shape = { n, w - 1 };
            return (a with { Source = $"{path}: inputs", Shape = shape, Integers = x }, a with { Source = $"{path}: targets", Shape = shape, Integers = y }, null);
        }

        private static Table Interpret(NumericArray inputs, NumericArray targets, NumericArray? mask, string file, FileTaskOptions o)
        {
            ZooConfigException Bad(string array, string problem) => new(file, array, problem);
            if (inputs.Shape.Length is not (2 or 3) || inputs.Shape[0] < 1 || inputs.Shape[1] < 1)
                throw Bad("inputs", $"has shape {inputs.ShapeText}; expected token ids [N, L] or reals [N, L] / [N, L, I] with N, L ≥ 1");
            int n = checked((int)inputs.Shape[0]), l = checked((int)inputs.Shape[1]);
            string nl = $"N = {n}, L = {l} as in inputs";

            bool tokens = o.Inputs switch
            {
                FileInputKind.Tokens => true,
                FileInputKind.Reals => false,
                _ => inputs.IsInteger && inputs.Shape.Length == 2,
            };
            long[]? tokenIds = null;
            float[]? realInputs = null;
            int inputDim = 0;
            if (tokens)
            {
                if (inputs.Shape.Length != 2) throw Bad("inputs", $"has shape {inputs.ShapeText}; token ids must be [N, L] (or set inputs: reals)");
                if (!inputs.IsInteger) throw Bad("inputs", $"has dtype {inputs.Dtype}; token ids must be integers (or set inputs: reals)");
                tokenIds = inputs.Integers!;
                if (tokenIds.Any(t => t < 0)) throw Bad("inputs", $"holds a negative token id ({tokenIds.First(t => t < 0)} at row {Array.FindIndex(tokenIds, t => t < 0) / l}); token ids are ≥ 0");
            }
            else
            {
                inputDim = inputs.Shape.Length == 3 ? checked((int)inputs.Shape[2]) : 1;
                if (inputDim < 1) throw Bad("inputs", $"has shape {inputs.ShapeText}; I must be ≥ 1");
                realInputs = ToFloat(inputs, "inputs", l, inputDim, Bad);
            }

            if (targets.Shape.Length is not (2 or 3) || targets.Shape[0] != n || targets.Shape[1] != l)
                throw Bad("targets", $"has shape {targets.ShapeText}; expected [N, L] or [N, L, O] with {nl}");
            bool classes = o.Targets switch
            {
                FileTargetKind.Classes => true,
                FileTargetKind.Reals => false,
                _ => targets.IsInteger && targets.Shape.Length == 2,
            };
            var scored = Enumerable.Repeat(true, n * l).ToArray();
            if (mask is not null)
            {
                if (mask.Shape.Length != 2 || mask.Shape[0] != n || mask.Shape[1] != l)
                    throw Bad("mask", $"has shape {mask.ShapeText}; expected [N, L] with {nl}");
                for (int i = 0; i < n * l; i++)
                {
                    double v = mask[i];
                    if (v != 0 && v != 1) throw Bad("mask", $"holds {v} at row {i / l}, position {i % l}; allowed: bool, or 0 / 1");
                    scored[i] = v == 1;
                }
            }
            long[]? classIds = null;
            float[]? realTargets = null;
            int outputDim = 0;
            if (classes)
            {
                if (targets.Shape.Length != 2) throw Bad("targets", $"has shape {targets.ShapeText}; class ids must be [N, L] (or set targets: reals)");
                if (!targets.IsInteger) throw Bad("targets", $"has dtype {targets.Dtype}; class ids must be integers (or set targets: reals)");
                classIds = (long[])targets.Integers!.Clone();
                for (int i = 0; i < classIds.Length; i++)
                {
                    if (classIds[i] == TokenExamples.Ignore) (classIds[i], scored[i]) = (0, false);
                    else if (classIds[i] < 0) throw Bad("targets", $"holds class id {classIds[i]} at row {i / l}, position {i % l}; allowed: ≥ 0, or −100 for an unscored position");
                }
            }
            else
            {
                outputDim = targets.Shape.Length == 3 ? checked((int)targets.Shape[2]) : 1;
                if (outputDim < 1) throw Bad("targets", $"has shape {targets.ShapeText}; O must be ≥ 1");
                realTargets = ToFloat(targets, "targets", l, outputDim, Bad);
            }
            if (!scored.Contains(true))
                throw Bad(mask is null ? "targets" : "mask", "scores no position at all; allowed: data with at least one scored target (not −100, mask true)");
            return new Table(n, l, inputDim, outputDim, tokenIds, realInputs, classIds, realTargets, scored);
        }

        // Reals are trained in float32: a value that is NaN, infinite or too large for float32 would make the first loss
        // non-finite, so it is refused here, where the file and the position can still be named.
        private static float[] ToFloat(NumericArray a, string array, int l, int width, Func<string, string, ZooConfigException> bad)
        {
            var result = new float[a.Integers?.Length ?? a.Reals!.Length];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = (float)a[i];
                if (!float.IsFinite(result[i]))
                    throw bad(array, $"holds {a[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at row {i / (l * width)}, position {i / width % l}; allowed: finite numbers within float32 range (±3.4e38)");
            }
            return result;
        }
    }

    /// <summary>Reads JSON Lines: one object per non-empty line with <c>inputs</c>, <c>targets</c> and optional <c>mask</c>.</summary>
    private static class JsonLines
    {
        private static readonly string[] Keys = { "inputs", "targets", "mask" };

        public static (NumericArray, NumericArray, NumericArray?) Read(string path)
        {
            var columns = Keys.ToDictionary(k => k, _ => new Column());
            int lineNumber = 0, rows = 0;
            foreach (var line in File.ReadLines(path))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                ZooConfigException Bad(string problem) => new(path, $"line {lineNumber}", problem);
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    throw Bad($"malformed JSON: {e.Message.Split('.')[0]}");
                }
                using (doc)
                {
                    if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("expected an object {\"inputs\": [...], \"targets\": [...], \"mask\": [...]}");
                    foreach (var p in doc.RootElement.EnumerateObject())
                        if (!Keys.Contains(p.Name)) throw Bad($"unknown key '{p.Name}'; allowed: {string.Join(", ", Keys)}");
                    foreach (var key in Keys)
                    {
                        bool present = doc.RootElement.TryGetProperty(key, out var value);
                        if (!present && key != "mask") throw Bad($"missing \"{key}\"");
                        if (key == "mask" && rows > 0 && present != columns[key].Rows > 0)
                            throw Bad("\"mask\" must be given on every line or on none");
                        if (present) columns[key].Add(value, key, Bad);
                    }
                }
                rows++;
            }
            if (rows == 0) throw new ZooConfigException(path, null, "holds no rows; expected one JSON object per line");
            return (columns["inputs"].ToArray(path, "inputs", rows), columns["targets"].ToArray(path, "targets", rows),
                columns["mask"].Rows > 0 ? columns["mask"].ToArray(path, "mask", rows) : null);
        }

        // One field across rows: every row must have the first row's shape ([L] or [L, W]).
        private sealed class Column
        {
            private readonly List<double> _values = new();
            private long[]? _shape;
            private bool _integers = true;

            public int Rows { get; private set; }

            public void Add(JsonElement value, string key, Func<string, ZooConfigException> bad)
            {
                if (value.ValueKind != JsonValueKind.Array) throw bad($"\"{key}\" must be a list");
                var rowShape = new List<long> { value.GetArrayLength() };
                foreach (var (item, t) in value.EnumerateArray().Select((x, t) => (x, t)))
                {
                    if (item.ValueKind == JsonValueKind.Array)
                    {
                        if (t == 0) rowShape.Add(item.GetArrayLength());
                        if (rowShape.Count != 2 || item.GetArrayLength() != rowShape[1])
                            throw bad($"\"{key}\"[{t}] has {item.GetArrayLength()} values; every step needs {(rowShape.Count == 2 ? rowShape[1] : 0)} (a list of numbers or a list of equal-length lists)");
                        foreach (var x in item.EnumerateArray()) Number(x, $"{key}[{t}]", bad);
                    }
                    else
                    {
                        if (rowShape.Count != 1) throw bad($"\"{key}\"[{t}] is a number among lists");
                        Number(item, $"{key}[{t}]", bad);
                    }
                }
                _shape ??= rowShape.ToArray();
                if (!_shape.SequenceEqual(rowShape))
                    throw bad($"\"{key}\" has shape {NumericArray.ShapeString(rowShape)}; every line needs {NumericArray.ShapeString(_shape)} (as the first line)");
                Rows++;
            }

            private void Number(JsonElement x, string at, Func<string, ZooConfigException> bad)
            {
                switch (x.ValueKind)
                {
                    case JsonValueKind.True: _values.Add(1); return;
                    case JsonValueKind.False: _values.Add(0); return;
                    case JsonValueKind.Number:
                        _integers &= x.TryGetInt64(out _);
                        _values.Add(x.GetDouble());
                        return;
                    default: throw bad($"{at} is {x.ValueKind.ToString().ToLowerInvariant()}; expected a number");
                }
            }

            public NumericArray ToArray(string path, string key, int rows)
            {
                var shape = new[] { (long)rows }.Concat(_shape!).ToArray();
                return _integers
                    ? new NumericArray($"{path}: {key}", "json", shape, _values.Select(v => (long)v).ToArray(), null)
                    : new NumericArray($"{path}: {key}", "json", shape, null, _values.ToArray());
            }
        }
    }
}
