using TorchSharp;
using Zoo.Layers.Recurrent;
using static TorchSharp.torch;

namespace Zoo.Tests;

/// <summary>The leaky RNN's equations checked against hand-computed values.</summary>
public sealed class LeakyRnnTests
{
    private static LeakyRnn Build(LeakyRnnOptions o, int d = 3)
    {
        var layer = new LeakyRnn(d, o);
        layer.to(ScalarType.Float64);
        using (no_grad())
            foreach (var p in layer.parameters()) p.zero_();
        return layer;
    }

    [Fact]
    public void Vanilla_rnn_with_zero_weights_reads_the_input_through_phi()
    {
        // W = 0, U = 0, b = 0 except one bias: h_1 = φ(b) exactly when λ = 1.
        var layer = Build(new LeakyRnnOptions { Leak = 1.0, Activation = Activation.Tanh });
        using (no_grad()) layer.named_parameters().First(p => p.name.EndsWith("bias")).parameter[1] = 0.5;
        var (y, _) = layer.Forward(zeros(1, 1, 3, dtype: ScalarType.Float64));
        Assert.Equal(Math.Tanh(0.5), y[0, 0, 1].item<double>(), 12);
        Assert.Equal(0.0, y[0, 0, 0].item<double>(), 12);
    }

    [Fact]
    public void Leak_moves_a_fraction_lambda_toward_phi()
    {
        var layer = Build(new LeakyRnnOptions { Leak = 0.25, Activation = Activation.Relu });
        var h0 = tensor(new[] { 2.0, 0, 0 }, dtype: ScalarType.Float64).reshape(1, 3);
        var (y, _) = layer.Step(zeros(1, 3, dtype: ScalarType.Float64), layer.StateFromActivity(h0));
        Assert.Equal(2.0 * 0.75, y[0, 0].item<double>(), 12); // h = (1 − λ) h + λ φ(0)
    }

    [Fact]
    public void Momentum_carries_velocity_between_steps()
    {
        // With γ = 0.5 and zero drive: v1 = −λ h0, h1 = h0 + v1; v2 = 0.5 v1 − λ h1, h2 = h1 + v2.
        var layer = Build(new LeakyRnnOptions { Leak = 0.2, Momentum = 0.5, Activation = Activation.Relu });
        var h0 = tensor(new[] { 1.0, 0, 0 }, dtype: ScalarType.Float64).reshape(1, 3);
        var (_, s1) = layer.Step(zeros(1, 3, dtype: ScalarType.Float64), layer.StateFromActivity(h0));
        var (y2, _) = layer.Step(zeros(1, 3, dtype: ScalarType.Float64), s1);
        double v1 = -0.2, h1 = 0.8, v2 = 0.5 * v1 - 0.2 * h1, h2 = h1 + v2;
        Assert.Equal(h2, y2[0, 0].item<double>(), 12);
    }

    [Fact]
    public void Adaptation_is_negative_feedback_on_active_units()
    {
        var plain = Build(new LeakyRnnOptions { Leak = 1.0, Activation = Activation.Relu });
        var adapting = Build(new LeakyRnnOptions { Leak = 1.0, Activation = Activation.Relu, AdaptationTau = 2, AdaptationStrength = 1 });
        foreach (var l in new[] { plain, adapting })
            using (no_grad()) l.named_parameters().First(p => p.name.EndsWith("bias")).parameter.fill_(1.0);
        var x = zeros(1, 4, 3, dtype: ScalarType.Float64);
        var (yp, _) = plain.Forward(x);
        var (ya, _) = adapting.Forward(x);
        // a_1 = (1/2) h_1 = 0.5, so h_2 = relu(1 − 0.5) = 0.5 < 1.
        Assert.Equal(1.0, yp[0, 1, 0].item<double>(), 12);
        Assert.Equal(0.5, ya[0, 1, 0].item<double>(), 12);
    }

    [Fact]
    public void Noise_is_drawn_in_training_only_and_is_reproducible_from_its_generator()
    {
        var o = new LeakyRnnOptions { Noise = 0.1 };
        var layer = Build(o);
        var x = zeros(2, 5, 3, dtype: ScalarType.Float64);
        layer.NoiseGenerator = new Generator(7);
        var (a, _) = layer.Forward(x);
        layer.NoiseGenerator = new Generator(7);
        var (b, _) = layer.Forward(x);
        Assert.True(a.abs().sum().item<double>() > 0);
        Assert.Equal(0.0, TestSupport.MaxAbsDiff(a, b));
        layer.eval();
        var (c, _) = layer.Forward(x);
        Assert.Equal(0.0, c.abs().sum().item<double>());
        layer.ReplayNoise = 0.05;
        var (d, _) = layer.Forward(x);
        Assert.True(d.abs().sum().item<double>() > 0);
    }

    [Theory]
    [InlineData(NoiseDistribution.Uniform)]
    [InlineData(NoiseDistribution.Gaussian)]
    public void The_noise_distribution_is_the_papers_gaussian_or_the_codes_uniform(NoiseDistribution distribution)
    {
        // Zero weights and input, λ = 1, no momentum: the first step's output is the noise σ ε itself.
        var layer = Build(new LeakyRnnOptions { Noise = 0.1, NoiseDistribution = distribution });
        layer.NoiseGenerator = new Generator(3);
        var (h, _) = layer.Forward(zeros(400, 1, 3, dtype: ScalarType.Float64));
        var eps = h / 0.1;
        if (distribution == NoiseDistribution.Uniform)
        {
            Assert.InRange(eps.min().item<double>(), 0.0, 0.05);
            Assert.InRange(eps.max().item<double>(), 0.95, 1.0 - 1e-12);
            Assert.InRange(eps.mean().item<double>(), 0.47, 0.53);                   // non-centred: a constant drive σ/2
        }
        else
        {
            Assert.True(eps.min().item<double>() < -2 && eps.max().item<double>() > 2);
            Assert.InRange(eps.mean().item<double>(), -0.1, 0.1);
            Assert.InRange(eps.std().item<double>(), 0.93, 1.07);
        }
    }
}
