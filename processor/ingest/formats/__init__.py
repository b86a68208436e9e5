"""Device export formats: one small module each, registered by name."""
