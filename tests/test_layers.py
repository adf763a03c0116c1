"""The import contracts (pyproject.toml, [tool.importlinter]), checked by import-linter
on every run of the suite: engine knows no Qt, viewer or trainer; trainer knows no Qt
or viewer; the viewer's model, render and scan know no Qt and no widgets; a DICOM file is read,
and an exported series built, in layers without a cycle."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6", "pyqtgraph", "qimage2ndarray")


def lint_imports(config: Path, cwd: Path, env=None) -> subprocess.CompletedProcess:
    """``lint-imports`` of this environment (a dev dependency), offline and without its cache folder."""
    exe = Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), "import-linter is missing: pip install -e '.[dev]'"
    return subprocess.run([str(exe), "--no-cache", "--config", str(config)], cwd=cwd, capture_output=True, text=True, env=env)


def test_import_linter_contracts_hold():
    r = lint_imports(ROOT / "pyproject.toml", ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 kept, 0 broken" in r.stdout, r.stdout


def test_a_model_module_that_imports_qt_breaks_its_contract(tmp_path):
    pkg = tmp_path / "app"
    for sub in ("", "model", "widgets"):
        (pkg / sub).mkdir(exist_ok=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "model" / "policy.py").write_text("from ..widgets import pane\n")  # reaches Qt indirectly
    (pkg / "widgets" / "pane.py").write_text("import PySide6.QtWidgets\n")
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_packages = ["app"]
        include_external_packages = true

        [[tool.importlinter.contracts]]
        name = "model knows no Qt"
        type = "forbidden"
        source_modules = ["app.model"]
        forbidden_modules = ["PySide6"]
    """))
    r = lint_imports(config, tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode != 0 and "1 broken" in r.stdout and "app.model.policy -> app.widgets.pane" in r.stdout, r.stdout


def _loaded_qt(modules: list[str]) -> list:
    """What of Qt and the viewer's widgets importing ``modules`` loads (a fresh interpreter)."""
    code = (f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
            f"print([m for m in sys.modules if m.split('.')[0] in {QT!r} or m.startswith(('viewer.widgets', 'viewer.tools'))])")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return eval(r.stdout)


def test_importing_the_engine_loads_no_qt_viewer_or_trainer():
    code = "import sys, engine, engine.io, engine.render.reference; bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','pyqtgraph','qimage2ndarray','viewer','trainer')]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_importing_the_viewers_model_render_and_scan_loads_no_qt():
    names = sorted(f"viewer.{p.parent.name}.{p.stem}" for d in ("model", "render", "scan")
                   for p in (ROOT / "viewer" / d).glob("*.py") if p.stem != "__init__")
    assert "viewer.model.pane_text" in names and "viewer.render.zoom_renderer" in names
    assert _loaded_qt(names) == []
    assert _loaded_qt(["viewer.widgets.pane"])[:1]  # the check sees Qt where it is
