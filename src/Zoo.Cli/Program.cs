using Zoo.Cli;

return new ZooCli(Console.Out, Console.Error, live: !Console.IsOutputRedirected).Run(args);
