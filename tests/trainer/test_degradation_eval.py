"""``metazoom-train eval --degradations``: baselines on the engine's grid, the flat-tissue
noise measure, and the written results."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.render.bicubic import bicubic
from trainer.cli import main
from trainer.degradation_eval import flat_tissue, lanczos3_predict, zerofill_predict


def test_lanczos_and_zero_fill_sit_on_the_engine_grid():
    ramp = np.tile(np.arange(40, dtype=np.float32), (40, 1))
    for r in (2.0, 2.5, 3.7):
        lz, bc = lanczos3_predict(ramp, r), bicubic(ramp, r)
        assert lz.shape == bc.shape
        inner = slice(int(4 * r), -int(4 * r))
        d = (lz - bc)[inner, inner]
        assert abs(d.mean()) < 2e-3 and np.abs(d).max() < 0.03  # same positions; Lanczos ripples on a ramp
    # zero-fill: an LR impulse's sinc peaks at (j + 0.5) r - 0.5
    imp = np.zeros((32, 32), np.float32)
    imp[16, 16] = 1.0
    up = zerofill_predict(imp, 2.0)
    assert up[32:34, 32:34].min() == pytest.approx(up.max(), rel=0.01) and up[32, 32] == pytest.approx(up[33, 33], rel=0.01)
    assert up[32:34, 32:34].min() > 1.5 * max(up[31, 32], up[34, 33])


def test_flat_tissue_avoids_edges_and_background():
    img = np.zeros((96, 96))
    img[:, 48:] = 0.6
    img[40:56, 60:76] = 0.9  # a bright block: its edges are not flat
    flat = flat_tissue(img)
    assert flat.any() and not flat[:, :48].any()
    assert not flat[38:58, 58:78][[0, -1]].any()  # the block's borders
    assert img[flat].std() < 1e-9


def _write_pngs(folder, n=2, size=128, seed=0):
    from scipy.ndimage import gaussian_filter

    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        img = gaussian_filter(rng.random((size, size)), 3.0)
        img = 0.2 + 0.7 * (img - img.min()) / (img.max() - img.min())
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"{i}.png")


def test_eval_degradations_writes_tables_per_group_and_degradation(tmp_path):
    _write_pngs(tmp_path / "a")
    _write_pngs(tmp_path / "b", seed=1)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'''[data]
root = "{tmp_path}"
[[data.test]]
kind = "images"
path = "a"
group = "volume"
[[data.test]]
kind = "images"
path = "b"
group = "ends"
''')
    out = tmp_path / "out"
    assert main(["eval", "--config", str(cfg), "--degradations", "bicubic,kspace-noise", "--scales", "2,3", "-o", str(out)]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert set(doc["results"]) == {"volume", "ends"}
    row = doc["results"]["volume"]["kspace-noise"]["2"]
    assert set(row) == {"bicubic", "lanczos3", "zerofill"}
    assert all(np.isfinite(v["psnr_mean"]) and 0 < v["ssim_mean"] <= 1 and v["flat_noise"] > 0 for v in row.values())
    # smooth images: bicubic's own protocol favours bicubic over sinc; noise: zero-fill keeps it all
    assert doc["results"]["ends"]["bicubic"]["2"]["bicubic"]["psnr_mean"] > 25
    assert "kspace-noise" in (out / "results.md").read_text()
    assert (out / "gain_vs_scale.png").stat().st_size > 0 and (out / "crops_x2.png").stat().st_size > 0
    assert main(["eval", "--config", str(cfg), "--degradations", "gibbs", "-o", str(out)]) == 2
