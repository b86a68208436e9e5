"""The import history: batches, billed row keys and their stores."""
