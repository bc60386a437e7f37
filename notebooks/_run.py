"""Execute the notebooks of this folder with nbclient and print how long each took.

    python notebooks/_run.py --quick                 # quick mode (G2R_NB_QUICK=1), as the tests do
    python notebooks/_run.py                         # full mode
    python notebooks/_run.py --quick 01_quickstart   # some of them
    python notebooks/_run.py --out outputs/notebooks --save-executed DIR

The kernel is this Python (``sys.executable``) through a kernel spec written to a temporary
folder, so the notebooks run in the project's environment; the repository root is put on the
kernel's ``PYTHONPATH``. A cell error stops that notebook and makes the exit status 1. It prints
the wall time of each notebook and the CPU time of its kernel (on a machine shared with other
jobs the wall time grows, the CPU time does not).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOTEBOOKS = sorted(p.name for p in HERE.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "g2r-lens-python"


def kernel_env(tmp: Path, quick: bool, out: Path) -> dict[str, str]:
    """Environment of the kernel: a kernel spec for ``sys.executable``, offline Hugging Face,
    the repository on ``PYTHONPATH``, outputs under ``out``."""
    spec = tmp / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "g2r_lens (this Python)", "language": "python"}))
    env = {
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(tmp / "ipython"),
        "MPLBACKEND": "agg",
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "G2R_NB_QUICK": "1" if quick else "0",
        "G2R_NB_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    return env


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def execute(name: str, *, quick: bool, out: Path, cwd: Path, timeout: int = 1800, save: Path | None = None,
            times: dict | None = None) -> float:
    """Run one notebook top to bottom; raises nbclient's CellExecutionError on a cell error.
    Returns the wall time in seconds; ``times`` (if given) also gets ``cpu``: the CPU seconds of the
    kernel process (user + system, all threads), which is what the notebook costs on an otherwise
    idle machine. The caller sets the environment (:func:`kernel_env`)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(HERE / name, as_version=4)
    t0, c0 = time.perf_counter(), _children_cpu()
    NotebookClient(nb, kernel_name=KERNEL, timeout=timeout, resources={"metadata": {"path": str(cwd)}},
                   allow_errors=False).execute()
    dt = time.perf_counter() - t0
    if times is not None:
        times.update(wall=dt, cpu=_children_cpu() - c0)  # the kernel has exited and been reaped here
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / name)
    return dt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", help="notebooks to run (default: all), with or without .ipynb")
    p.add_argument("--quick", action="store_true", help="quick mode (G2R_NB_QUICK=1)")
    p.add_argument("--out", default=None, help="outputs folder (default: a temporary one)")
    p.add_argument("--save-executed", default=None, help="write the executed notebooks (with outputs) here")
    a = p.parse_args(argv)
    names = [n if n.endswith(".ipynb") else n + ".ipynb" for n in a.names] or NOTEBOOKS
    status = 0
    with tempfile.TemporaryDirectory(prefix="g2r-nb-") as tmp:
        tmp = Path(tmp)
        out = Path(a.out).resolve() if a.out else tmp / "outputs"
        os.environ.update(kernel_env(tmp, a.quick, out))
        for name in names:
            try:
                t: dict = {}
                execute(name, quick=a.quick, out=out, cwd=tmp, save=Path(a.save_executed) if a.save_executed else None,
                        times=t)
                print(f"{name:28s} {'quick' if a.quick else 'full':5s} wall {t['wall']:7.1f} s   "
                      f"kernel CPU {t['cpu']:7.1f} s", flush=True)
            except Exception as e:  # report and go on with the next notebook
                print(f"{name:28s} FAILED: {type(e).__name__}: {str(e)[-2000:]}", flush=True)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
