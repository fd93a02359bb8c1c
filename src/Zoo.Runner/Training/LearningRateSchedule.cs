namespace Zoo.Runner.Training;

/// <summary>Linear warm-up to the peak, then cosine decay to <c>min_lr_ratio · peak</c> at the last step.</summary>
public static class LearningRateSchedule
{
    /// <summary>Learning rate for 0-based <paramref name="step"/>.</summary>
    public static double At(TrainSpec spec, int step)
    {
        if (spec.Warmup > 0 && step < spec.Warmup) return spec.Lr * (step + 1) / spec.Warmup;
        int decaySteps = Math.Max(1, spec.Steps - spec.Warmup - 1);
        double progress = Math.Clamp((step - spec.Warmup) / (double)decaySteps, 0, 1);
        double floor = spec.Lr * spec.MinLrRatio;
        return floor + (spec.Lr - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
