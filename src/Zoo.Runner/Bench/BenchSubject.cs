using System.Text.Json;
using TorchSharp.Modules;
using Zoo.Core.Layers;
using Zoo.Core.Options;
using Zoo.Core.Registry;
using static TorchSharp.torch;

namespace Zoo.Runner.Bench;

/// <summary>
/// What <c>zoo bench</c> times: a registered layer with options (<c>name</c> or <c>name:{json}</c>), or one of the
/// built-in TorchSharp baselines (<c>torch-lstm</c>, <c>torch-gru</c>: the bare modules Zoo's LSTM/GRU wrap, which use
/// cuDNN on GPU) that put Zoo's own overhead in a ratio, or the bare gated delta op (<c>gated-delta-op</c>, options in
/// <see cref="GatedDeltaOpOptions"/>) to put beside fla's Triton kernel.
/// </summary>
public sealed class BenchSubject : IDisposable
{
    /// <summary>Baselines outside the registry, by name (they take no options).</summary>
    public static readonly IReadOnlyList<string> Baselines = new[] { "torch-lstm", "torch-gru" };

    private readonly nn.Module<Tensor, Tensor> _module;

    private BenchSubject(string label, string options, nn.Module<Tensor, Tensor> module, SequenceLayer? layer)
    {
        (Label, Options, _module, Layer) = (label, options, module, layer);
    }

    /// <summary>Name as given (with options when given).</summary>
    public string Label { get; }

    /// <summary>Options as canonical JSON (all fields).</summary>
    public string Options { get; }

    /// <summary>The Zoo layer, or null for a baseline or the bare op (no recurrent step form to time).</summary>
    public SequenceLayer? Layer { get; }

    /// <summary>The module whose forward is timed.</summary>
    public nn.Module<Tensor, Tensor> Module => _module;

    /// <summary>
    /// Splits <c>name</c> or <c>name:{json options}</c> into the name and the parsed options (null when none); malformed
    /// JSON or a key given twice is a config error naming <c>--layers</c>.
    /// </summary>
    public static (string Name, JsonElement? Options) ParseSpec(string spec)
    {
        var colon = spec.IndexOf(':');
        var name = colon < 0 ? spec : spec[..colon];
        if (colon < 0) return (name, null);
        try
        {
            var json = JsonDocument.Parse(spec[(colon + 1)..]).RootElement;
            DuplicateKeys.Check(json, null, $"--layers {name}");
            return (name, json);
        }
        catch (JsonException e)
        {
            throw new ZooConfigException(null, "--layers", $"options of '{name}' are not valid JSON: {e.Message}");
        }
    }

    /// <summary>Parses <c>name</c> or <c>name:{json options}</c> (<see cref="ParseSpec"/>) and builds the subject at width <paramref name="dModel"/>.</summary>
    public static BenchSubject Create(ComponentRegistry registry, string spec, int dModel)
    {
        var (name, json) = ParseSpec(spec);
        if (name == GatedDeltaOpModule.SubjectName)
        {
            var opOptions = OptionsBinder.Bind<GatedDeltaOpOptions>(json, null, $"--layers {name}", dModel);
            return new BenchSubject(spec, OptionsBinder.ToJson(opOptions).ToJsonString(), new GatedDeltaOpModule(dModel, opOptions), null);
        }
        if (Baselines.Contains(name))
        {
            if (json is not null) throw new ZooConfigException(null, "--layers", $"{name} takes no options");
            nn.Module<Tensor, Tensor> m = name == "torch-lstm" ? new TorchRnn(nn.LSTM(dModel, dModel, batchFirst: true)) : new TorchRnn(nn.GRU(dModel, dModel, batchFirst: true));
            return new BenchSubject(name, "{}", m, null);
        }
        var options = registry.BindLayerOptions(name, json, dModel, null, $"--layers {name}");
        var layer = registry.CreateLayer(name, dModel, options);
        return new BenchSubject(spec, OptionsBinder.ToJson(options).ToJsonString(), layer, layer);
    }

    /// <summary>Forward without autograd; returns the sum of the outputs (forces the computation).</summary>
    public float Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _module.forward(x).sum().to(ScalarType.Float32).item<float>();   // the op subject may compute in bfloat16
    }

    /// <summary>Forward and backward of mean(y²); returns the loss.</summary>
    public float ForwardBackward(Tensor x)
    {
        using var scope = NewDisposeScope();
        _module.zero_grad();
        var loss = _module.forward(x).pow(2).mean();
        loss.backward();
        return loss.to(ScalarType.Float32).item<float>();
    }

    /// <summary>Token-by-token decode of x [B, L, D] through the layer's recurrent form (one dispose scope per token).</summary>
    public void Decode(Tensor x)
    {
        var layer = Layer ?? throw new InvalidOperationException($"{Label} has no recurrent step form");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = layer.InitialState(x.shape[0], x.device, x.dtype);
        for (long t = 0; t < x.shape[1]; t++)
        {
            using var inner = NewDisposeScope();
            var (_, next) = layer.Step(x[.., t], state);
            next.MoveToOuterDisposeScope();
            state.Dispose();
            state = next;
        }
        state.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => _module.Dispose();

    /// <summary>A bare TorchSharp LSTM or GRU as a sequence-to-sequence module.</summary>
    private sealed class TorchRnn : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module rnn;

        public TorchRnn(nn.Module rnn) : base("TorchRnn")
        {
            this.rnn = rnn;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => rnn switch
        {
            LSTM lstm => lstm.forward(x).Item1,
            GRU gru => gru.forward(x).Item1,
            _ => throw new InvalidOperationException(),
        };
    }
}
