"""The workbooks: reading, validation, typed records and templates."""
