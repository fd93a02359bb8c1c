using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp.Modules;
using Zoo.Core.Options;
using Zoo.Runner.Results;
using static TorchSharp.torch;

namespace Zoo.Runner.Training;

/// <summary>
/// Keeps the latest <see cref="TrainingSnapshot"/> of one run in a folder of its own, so that a run stopped mid-way
/// (a killed process, a session's time limit, a crash) goes on from its last saved evaluation instead of from step 0,
/// and ends with the rows an uninterrupted run writes. Files: <c>step-N.weights</c> (the model, TorchSharp format),
/// <c>step-N.optimizer</c> (AdamW's moments and step counts) and <c>snapshot.json</c> (the trainer's own state and N),
/// written in that order, each atomically: a stop at any moment leaves a <c>snapshot.json</c> that names complete files.
/// </summary>
public sealed class ResumeStore
{
    private const int FormatVersion = 1;
    private const string SnapshotFile = "snapshot.json";
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,   // NaN before the first evaluation
    };

    private readonly TimeSpan _every;
    private readonly Stopwatch _sinceSave = Stopwatch.StartNew();

    /// <summary>
    /// A store in <paramref name="folder"/> that saves at an evaluation once <paramref name="every"/> has passed since
    /// the last save (or since it was made); default one minute, so short runs never write one.
    /// </summary>
    public ResumeStore(string folder, TimeSpan? every = null) => (Folder, _every) = (folder, every ?? TimeSpan.FromMinutes(1));

    /// <summary>The run's folder.</summary>
    public string Folder { get; }

    /// <summary>The folder of run <paramref name="configHash"/> of suite <paramref name="suite"/> under <paramref name="outDir"/>: <c>OUT/SUITE.resume/HASH</c>.</summary>
    public static string FolderFor(string outDir, string suite, string configHash) =>
        Path.Combine(outDir, suite + ".resume", configHash);

    /// <summary>The step the saved snapshot goes on from; null when there is none.</summary>
    public int? SavedStep => ReadSnapshot()?.Step;

    /// <summary>Whether the interval since the last save has passed (the caller builds a snapshot only then).</summary>
    public bool Due => _sinceSave.Elapsed >= _every;

    /// <summary>Saves <paramref name="snapshot"/> with the model's weights and the optimizer's state.</summary>
    public void Save(TrainingSnapshot snapshot, nn.Module model, optim.Optimizer optimizer)
    {
        Directory.CreateDirectory(Folder);
        var (weights, moments) = Files(snapshot.Step);
        AtomicFile.Write(weights, tmp => model.save(tmp));
        AtomicFile.Write(moments, tmp => ((OptimizerHelper)optimizer).save_state_dict(tmp));
        AtomicFile.WriteAllText(Path.Combine(Folder, SnapshotFile), JsonSerializer.Serialize(new Stored(FormatVersion, snapshot), Json));
        foreach (var old in Directory.GetFiles(Folder, "step-*"))
            if (old != weights && old != moments) File.Delete(old);
        _sinceSave.Restart();
    }

    /// <summary>
    /// Loads the saved weights into <paramref name="model"/> and the saved state into <paramref name="optimizer"/> and
    /// returns the snapshot; null (nothing loaded) when there is none. A snapshot that cannot be read or does not fit is
    /// a config error naming the folder.
    /// </summary>
    public TrainingSnapshot? Load(nn.Module model, optim.Optimizer optimizer)
    {
        var snapshot = ReadSnapshot();
        if (snapshot is null) return null;
        var (weights, moments) = Files(snapshot.Step);
        try
        {
            model.load(weights);
            ((OptimizerHelper)optimizer).load_state_dict(moments);
        }
        catch (Exception e) when (e is not ZooConfigException)
        {
            throw Unusable($"its step-{snapshot.Step} weights or optimizer state do not load ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
        }
        _sinceSave.Restart();
        return snapshot;
    }

    /// <summary>Deletes the run's folder (and the suite's resume folder once empty).</summary>
    public void Clear()
    {
        if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true);
        try
        {
            var parent = Path.GetDirectoryName(Folder);
            if (parent is not null && Directory.Exists(parent) && !Directory.EnumerateFileSystemEntries(parent).Any()) Directory.Delete(parent);
        }
        catch (IOException)
        {
            // Another process's run folder appeared meanwhile: the parent stays.
        }
    }

    private (string Weights, string Optimizer) Files(int step) =>
        (Path.Combine(Folder, $"step-{step}.weights"), Path.Combine(Folder, $"step-{step}.optimizer"));

    private TrainingSnapshot? ReadSnapshot()
    {
        var path = Path.Combine(Folder, SnapshotFile);
        if (!File.Exists(path)) return null;
        Stored? stored;
        try
        {
            stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw Unusable($"{SnapshotFile} is not a resume snapshot ({e.Message.Split('\n')[0]})");
        }
        if (stored?.Snapshot is null || stored.Version != FormatVersion)
            throw Unusable($"{SnapshotFile} has format {stored?.Version.ToString() ?? "none"}; allowed: {FormatVersion}");
        return stored.Snapshot;
    }

    private ZooConfigException Unusable(string why) =>
        new(Folder, null, $"cannot resume from this folder: {why}; delete it (or run with --force) to train the run from step 0");

    private sealed record Stored(int Version, TrainingSnapshot Snapshot);
}
