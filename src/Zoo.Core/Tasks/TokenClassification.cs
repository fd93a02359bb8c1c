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

    /// <summary>
    /// Per-class counts of the argmax predictions of <paramref name="logits"/> [B, L, C] over the positions in
    /// <c>batch.Mask</c> (C classes; <see cref="ClassTally.Of"/> is the readable reference).
    /// </summary>
    public static ClassTally ClassCounts(Tensor logits, TaskBatch batch)
    {
        using var scope = NewDisposeScope();
        long classes = logits.shape[^1];
        var predicted = logits.argmax(-1).masked_select(batch.Mask);
        var targets = batch.Targets.masked_select(batch.Mask);
        var correct = targets.masked_select(predicted.eq(targets));
        return new ClassTally(Count(correct, classes), Count(targets, classes), Count(predicted, classes));
    }

    private static long[] Count(Tensor classIds, long classes) =>
        bincount(classIds.cpu(), minlength: classes).data<long>().ToArray();
}
