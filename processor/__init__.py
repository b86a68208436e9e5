"""device-charges: bill device usage from device exports and Excel workbooks.

The command line (``charges``) is a thin layer over these functions:

- ``load_reference(folder)``: read and validate the workbooks.
- ``run_import(...)``: import exports into a batch folder.
- ``write_templates(folder)``: empty template workbooks.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # the public API, imported on first use so `import processor` stays light
    if name in {"load_reference", "validate_folder", "WorkbookError", "UsageError"}:
        from processor import api

        return getattr(api, name)
    if name == "run_import":
        from processor.importer import run_import

        return run_import
    if name == "write_templates":
        from processor.templates import write_templates

        return write_templates
    raise AttributeError(name)
