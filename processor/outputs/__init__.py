"""Writing files: parquet and xlsx."""
