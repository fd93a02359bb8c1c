using static TorchSharp.torch;

namespace Zoo.Core.Tasks;

/// <summary>Loss and accuracy for tasks whose output is a class per position, scored on masked positions only.</summary>
public static class TokenClassification
{
    /// <summary>Mean cross-entropy of <paramref name="logits"/> [B, L, C] over the positions in <c>batch.Mask</c>.</summary>
    public static Tensor Loss(Tensor logits, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var targets = batch.Targets.masked_fill(batch.Mask.logical_not(), -100);
        var loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index: -100);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Tally of correct argmax predictions over the positions in <c>batch.Mask</c>.</summary>
    public static MetricTally Accuracy(Tensor logits, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        var correct = logits.argmax(-1).eq(batch.Targets).logical_and(batch.Mask);
        return new MetricTally(correct.sum().item<long>(), batch.Mask.sum().item<long>());
    }
}
