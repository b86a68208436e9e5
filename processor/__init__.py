"""device-charges: bill device usage from device exports and Excel workbooks.

The command line (``charges``) is a thin layer over the functions named here, which are
the public API: tests, notebooks and scripts use these names, not the modules behind them.

- ``load_reference(folder)``, ``validate_folder(folder)``: read and validate the workbooks.
- ``run_import(...)``, ``run_retry(...)``, ``void_batch(...)``, ``apply_codes(...)``,
  ``export_batches(...)``: the commands' recipes.
- ``write_templates(folder)``: empty template workbooks.
- ``render_batch(...)``, ``render_period(...)``, ``load_batch(folder)``: the reports.
- ``create_history(path)``, ``open_history(path)``: the import history.
- ``read_export(...)``, ``sniff(...)``: exports.
"""

from importlib import import_module

__version__ = "0.1.0"

# name -> module that defines it; imported on first use so `import processor` stays light
_PUBLIC = {
    "load_reference": "processor.reference.loading",
    "validate_folder": "processor.reference.loading",
    "WorkbookError": "processor.errors",
    "UsageError": "processor.errors",
    "ExportError": "processor.errors",
    "HistoryError": "processor.errors",
    "OutputError": "processor.errors",
    "ReportError": "processor.errors",
    "RenderError": "processor.errors",
    "run_import": "processor.recipes.importing",
    "run_retry": "processor.recipes.retry",
    "void_batch": "processor.recipes.void",
    "apply_codes": "processor.recipes.apply_codes",
    "export_batches": "processor.recipes.export_books",
    "write_templates": "processor.reference.templates",
    "render_batch": "processor.reports.render",
    "render_period": "processor.reports.render",
    "load_batch": "processor.reports.batch",
    "open_history": "processor.history",
    "create_history": "processor.history",
    "NoHistoryError": "processor.errors",
    "read_export": "processor.ingest.reading",
    "sniff": "processor.ingest.sniff",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(name)
