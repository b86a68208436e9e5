"""A papermill engine that runs a report notebook's cells in this process.

Papermill's usual engine starts a Jupyter kernel per notebook: a new Python that imports
pandas and the report code again, about 3 s of a small report's 4. The report notebooks
are our own code over a batch folder, so they run here, in an IPython shell, and their
outputs are kept as a kernel would keep them (displays, text, the last expression, an
error with its traceback). Papermill still injects the parameters, times every cell and
writes the executed notebook; a failed cell stops the notebook and papermill raises
``PapermillExecutionError`` as it does for a kernel.

One shell per process, one notebook at a time: `charges report` runs notebooks side by
side in separate processes (see ``render``). Each notebook starts with an empty namespace.
"""

from __future__ import annotations

import threading

from IPython.core.displayhook import DisplayHook
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nbformat.v4 import new_output
from papermill.engines import Engine, papermill_engines

NAME = "device-charges-in-process"
_LOCK = threading.Lock()  # a second thread waits for the shell rather than sharing it


class _ResultHook(DisplayHook):
    """A cell's last expression becomes its ``execute_result``, as in a kernel."""

    def start_displayhook(self) -> None:
        self.shell.results.append({})

    def write_format_data(self, format_dict, md_dict=None) -> None:
        self.shell.results[-1] = {"data": format_dict, "metadata": md_dict or {}}

    def write_output_prompt(self) -> None:  # no "Out[n]:" text
        pass

    def finish_displayhook(self) -> None:
        if not self.shell.results[-1]:
            self.shell.results.pop()


class _ReportShell(InteractiveShell):
    displayhook_class = _ResultHook

    def init_instance_attrs(self) -> None:
        super().init_instance_attrs()
        self.results: list[dict] = []
        self.failure: dict | None = None

    def _showtraceback(self, etype, evalue, stb) -> None:  # kept as the error output
        self.failure = {
            "ename": etype.__name__,
            "evalue": str(evalue),
            "traceback": list(stb),
        }


def _shell() -> _ReportShell:
    shell = _ReportShell.instance(colors="nocolor")
    _empty(shell)
    return shell


def _empty(shell: _ReportShell) -> None:
    """A fresh namespace. Not ``shell.reset()``: its full garbage collection took longer
    than a small report's cells."""
    shell.user_ns.clear()
    shell.init_user_ns()


def run_cell(shell: _ReportShell, cell, count: int) -> bool:
    """Runs one code cell, sets its outputs; False when it failed."""
    shell.results, shell.failure = [], None
    with capture_output(stdout=True, stderr=True, display=True) as captured:
        shell.run_cell(cell.source, store_history=False)
    outputs = []
    for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
        if text:
            outputs.append(new_output("stream", name=name, text=text))
    for shown in captured.outputs:
        outputs.append(new_output("display_data", data=shown.data, metadata=shown.metadata))
    for result in shell.results:
        outputs.append(new_output("execute_result", execution_count=count, **result))
    if shell.failure:
        outputs.append(new_output("error", **shell.failure))
    cell.outputs = outputs
    cell.execution_count = count
    return shell.failure is None


class InProcessEngine(Engine):
    """Papermill's engine interface over ``run_cell``."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs) -> None:
        # papermill writes (and validates) the notebook at every cell's start and end, for
        # a kernel that may die: here the run and the process end together, and papermill
        # writes it once, after the last cell, failed or not
        output_path, nb_man.output_path = nb_man.output_path, None
        with _LOCK:
            shell = _shell()
            try:
                count = 0
                for index, cell in enumerate(nb_man.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    count += 1
                    nb_man.cell_start(cell, index)
                    ok = run_cell(shell, cell, count)
                    if not ok:
                        nb_man.cell_exception(cell, index)
                    nb_man.cell_complete(cell, index)
                    if not ok:
                        break
            finally:
                _empty(shell)  # the batch's frames are not kept alive
                nb_man.output_path = output_path


papermill_engines.register(NAME, InProcessEngine)
