"""``metazoom-train eval``: tables, JSON, plot and image grid for bicubic and models."""

from __future__ import annotations

import copy
import json

import numpy as np
from PIL import Image

from trainer.cli import main
from trainer.run_config import parse_config
from trainer.train import Trainer

from .conftest import smooth_images


def test_eval_writes_tables_json_plot_and_grid(tiny_cfg, tiny_crops, tmp_path):
    tr = Trainer(parse_config(tiny_cfg), crops=tiny_crops, quiet=True)
    tr.run(2)
    meta_ck = tr.save()
    srgan_cfg = copy.deepcopy(tiny_cfg)
    srgan_cfg.update(out=str(tmp_path / "srgan"))
    srgan_cfg["model"] = {"name": "srgan", "args": {"channels": 8, "blocks": 1, "scale": 2}, "init": ""}
    srgan_cfg["data"]["scales"] = []
    sr = Trainer(parse_config(srgan_cfg), crops=tiny_crops, quiet=True)
    sr.run(2)
    srgan_ck = sr.save()
    weights = tmp_path / "meta.safetensors"
    assert main(["export", str(meta_ck), "-o", str(weights)]) == 0

    test_dir = tmp_path / "test"
    test_dir.mkdir()
    for i, img in enumerate(smooth_images(2, 140, seed=9)):
        Image.fromarray((img * 255).astype(np.uint8)).save(test_dir / f"{i}.png")
    cfg = tmp_path / "eval.toml"
    cfg.write_text(f'[[data.test]]\nkind = "images"\npath = "{test_dir}"\n')
    out = tmp_path / "eval"
    rc = main(["eval", "--config", str(cfg), "--model", f"meta={weights}", "--model", f"srgan={srgan_ck}", "--scales", "2.0,3.0,4x2.2", "-o", str(out)])
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["data_range"] == 1.0 and res["n_crops"] == 2
    assert set(res["results"]["2"]) == {"bicubic", "meta", "srgan"}
    assert set(res["results"]["3"]) == {"bicubic", "meta"}  # SRGAN x2 only does x2
    assert set(res["results"]["4x2.2"]) == {"bicubic", "meta"}  # a pair: rows x4, columns x2.2
    assert res["results"]["4x2.2"]["bicubic"]["psnr_mean"] < res["results"]["2"]["bicubic"]["psnr_mean"]
    assert res["results"]["2"]["bicubic"]["psnr_mean"] > 25
    md = (out / "results.md").read_text()
    assert "| x2 |" in md and "| x4 rows, x2.2 cols |" in md and "#parameters" in md and "data range 1" in md
    assert (out / "psnr_ssim_vs_scale.png").stat().st_size > 5000
    assert (out / "samples_x2.png").stat().st_size > 5000
