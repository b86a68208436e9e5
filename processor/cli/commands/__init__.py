"""One module a command, each with ``run(args) -> exit code``."""
