"""Model choice: fidelity | perceptual | a site's file, named everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import models
from engine.errors import ModelNotShipped, WeightsError
from engine.export.provenance import Provenance
from engine.weights import BUNDLED


@pytest.fixture
def no_perceptual(tmp_path, monkeypatch):
    missing = tmp_path / "meta_srgan_perceptual.safetensors"
    monkeypatch.setitem(models.NAMED, "perceptual", missing)
    return missing


def test_named_models_resolve_and_are_named():
    assert models.resolve_model(None) == BUNDLED
    assert models.resolve_model("Fidelity") == BUNDLED
    assert models.model_key(BUNDLED) == "fidelity"
    assert models.model_name(BUNDLED) == "Meta-SRGAN fidelity"
    assert models.resolve_model("/x/site.safetensors") == Path("/x/site.safetensors")
    assert models.model_name("/x/site.safetensors") == "Meta-SRGAN (site weights site.safetensors)"


def test_perceptual_not_shipped_is_a_typed_error_naming_the_file(no_perceptual):
    assert not models.shipped("perceptual")
    with pytest.raises(ModelNotShipped) as e:
        models.resolve_model("perceptual")
    assert isinstance(e.value, WeightsError) and e.value.path == no_perceptual
    assert "meta_srgan_perceptual.safetensors" in str(e.value)


def test_perceptual_when_shipped(tmp_path, monkeypatch):
    f = tmp_path / "meta_srgan_perceptual.safetensors"
    f.write_bytes(b"")
    monkeypatch.setitem(models.NAMED, "perceptual", f)
    assert models.resolve_model("perceptual") == f
    assert models.model_name(f) == "Meta-SRGAN perceptual"


def test_cli_model_flags(no_perceptual):
    from engine.batch import UsageError, _parse
    from viewer.app import parse_args

    opts = _parse(["in.nii", "-s", "2", "-o", "out.nii.gz", "--model", "fidelity"])
    assert opts.weights == BUNDLED
    with pytest.raises(UsageError, match="meta_srgan_perceptual.safetensors"):
        _parse(["in.nii", "-s", "2", "-o", "out.nii.gz", "--model", "perceptual"])
    with pytest.raises(UsageError, match="not both"):
        _parse(["in.nii", "-s", "2", "-o", "out.nii.gz", "--model", "fidelity", "--weights", "w.safetensors"])
    assert parse_args(["--model", "fidelity"]).weights == BUNDLED
    assert parse_args(["--model", "site.safetensors"]).weights == Path("site.safetensors")
    with pytest.raises(SystemExit):
        parse_args(["--model", "perceptual"])


def test_provenance_names_the_model():
    w = {"model": "perceptual", "file": "meta_srgan_perceptual.safetensors", "sha256": "ab" * 32, "arch": "meta_srgan", "trained": True}
    p = Provenance("sr", 2.0, 2.0, ((10, 20), (10, 20)), weights=w)
    assert p.short().startswith("MetaZoom meta-srgan:perceptual x2 w:abab")
    assert len(p.short()) <= 80
    assert "model perceptual, weights meta_srgan_perceptual.safetensors" in p.summary()
    assert p.as_dict()["weights"]["model"] == "perceptual"
    assert "perceptual" not in Provenance("bicubic", 2.0, None, ((10, 20), (10, 20)), weights=w).short()


def test_model_label_is_the_word_an_sr_pane_shows():
    from engine import models
    from engine.weights import BUNDLED

    assert models.model_label(BUNDLED) == "fidelity"
    assert models.model_label(None) == "fidelity"
    assert models.model_label(Path("/x/brain_t1.safetensors")) == "brain_t1.safetensors"
