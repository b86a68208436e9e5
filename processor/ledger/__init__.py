"""Row keys and screening rows against this import and the history."""
