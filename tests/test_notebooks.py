"""The four notebooks run top to bottom in quick mode (G2R_NB_QUICK=1) with nbclient on a kernel of
this Python; any cell error fails. The committed notebooks are stripped of outputs and match their
generator (notebooks/_build.py)."""

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = ["01_quickstart.ipynb", "02_faithfulness.ipynb", "03_rl.ipynb", "04_your_own_judge.ipynb"]


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_g2r_nb_{name}", NB_DIR / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    run = _load("_run")
    tmp = tmp_path_factory.mktemp("nbkernel")
    env = run.kernel_env(tmp, quick=True, out=tmp / "outputs")
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield run, tmp
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_quick_mode(runner, name):
    run, tmp = runner
    cwd = tmp / name.split(".")[0]
    cwd.mkdir()
    run.execute(name, quick=True, out=tmp / "outputs", cwd=cwd, timeout=1800)
    produced = list((tmp / "outputs" / name.split(".")[0]).iterdir())
    assert produced, "every notebook writes its outputs under G2R_NB_OUT"
    assert not any(cwd.iterdir()), "nothing is written outside the outputs folder"


def test_committed_notebooks_are_stripped_and_up_to_date():
    assert sorted(p.name for p in NB_DIR.glob("[0-9][0-9]_*.ipynb")) == NOTEBOOKS
    assert _load("_build").main(["--check"]) == 0, "regenerate with: python notebooks/_build.py"
    for name in NOTEBOOKS:
        nb = nbformat.read(NB_DIR / name, as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].cell_type == "markdown" and "How long" in nb.cells[0].source
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1 and "G2R_NB_QUICK" in params[0].source
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None
            for root in ("work", "tmp", "home"):  # no machine folder in a committed notebook
                assert f"/{root}/" not in c.source
