"""Reading device exports into rows: formats, blocks, decoding, dates, numbers."""
