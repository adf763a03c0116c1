"""The import contracts: engine knows no Qt, viewer or trainer; trainer knows no Qt or viewer."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed")
    r = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" not in r.stdout.split("Contracts:")[-1].lower() or "0 broken" in r.stdout


def test_importing_the_engine_loads_no_qt():
    code = "import sys, engine, engine.io, engine.render.reference; bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','qimage2ndarray','viewer','trainer')]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
