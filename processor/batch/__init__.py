"""The batch folder: its files, manifest, life and Batch Sheet."""
