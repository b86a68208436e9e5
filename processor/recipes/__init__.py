"""The commands' recipes: import, retry, void and apply codes."""
