"""Into the books: Batch Sheet lines as an accounting system's own invoice import file.

``invoices`` makes the invoices (pure), ``systems`` holds one module per accounting system
(a registry: a new system is one module), and ``processor.recipes.export_books`` writes
and records an export.
"""
