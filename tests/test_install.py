"""Installed, not just checked out: the wheel works from any folder, outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from tests.conftest import GENERIC_HEADER, write_books, write_csv

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
    return done


def test_a_wheel_installed_outside_the_repository_runs_every_command(tmp_path):
    dist = tmp_path / "dist"
    run(
        [sys.executable, *"-m pip wheel --no-deps --no-build-isolation -q -w".split(), dist, ROOT],
        tmp_path,
    )
    wheel = next(dist.glob("device_charges-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for nb in ("billing", "unmatched", "period"):
        assert f"processor/notebooks/{nb}.ipynb" in names

    # a fresh venv: the project only from the wheel; its dependencies from this
    # environment's site-packages (a plain path entry, so no editable finder comes along)
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    py = venv / "bin" / "python"
    site = Path(
        run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # ... and the data files those packages install under the prefix (nbconvert's templates)
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = run([str(py), "-c", "import processor; print(processor.__file__)"], work, env)
    assert where.stdout.startswith(str(site)), where.stdout

    charges = str(venv / "bin" / "charges")
    run([charges, "init", "new-books"], work, env)
    run([charges, "validate", "--workbooks", "new-books"], work, env)
    books = write_books(work / "books")
    write_csv(
        work / "october.csv", [GENERIC_HEADER, "100,2026-10-01,call,1,1.00", "999,2026-10-02,x,1,1"]
    )
    imported = run(
        [
            charges,
            *"import --workbooks books --location London --application PBX".split(),
            *"--batch-date 2026-10-31 --out batches/oct --report october.csv".split(),
        ],
        work,
        env,
    )
    assert "billed 1" in imported.stdout
    for page in ("billing.html", "unmatched.html"):
        assert (work / "batches" / "oct" / "reports" / page).stat().st_size > 1000
    run([charges, "report", "batches/oct"], work, env)
    assert (books / "history.sqlite").is_file()
    exported = run([charges, *"export batches/oct --to xero --out oct-xero.csv".split()], work, env)
    assert exported.stdout.startswith("1 invoice for Xero (20261031-A1) from 1 batch: net 1.10")
    assert (work / "oct-xero.csv").read_text(encoding="utf-8").startswith("*ContactName,")
