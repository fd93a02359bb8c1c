namespace Zoo.Core.Registry;

/// <summary>A registered layer or task: its name, class, options type and where it came from.</summary>
public sealed record ComponentEntry(string Name, Type Type, Type OptionsType, string Summary, string Source);
