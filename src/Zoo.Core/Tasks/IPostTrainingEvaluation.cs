namespace Zoo.Core.Tasks;

/// <summary>A task with an evaluation that drives the trained model itself (replay after path integration).</summary>
public interface IPostTrainingEvaluation
{
    /// <summary>Evaluates <paramref name="model"/>, trained with data seed <paramref name="seed"/>.</summary>
    PostTrainingResult EvaluateAfterTraining(IDrivableModel model, long seed);
}
