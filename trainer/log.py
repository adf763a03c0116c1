"""Run logs: ``train.csv`` (every logged update), ``eval.jsonl`` (held-out checks),
``loss_curves.png`` (matplotlib), and TensorBoard scalars when ``tensorboard`` is
installed (optional; never required)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

FIELDS = ["step", "scale", "lr", "g", "l1", "adv", "per", "d", "steps_per_s", "elapsed_s"]


class RunLog:
    def __init__(self, out, enabled: bool = True):
        self.out, self.enabled = Path(out), enabled
        self.tb = None
        if enabled:
            self.out.mkdir(parents=True, exist_ok=True)
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.out / "tb"))
            except Exception:  # noqa: BLE001  (tensorboard absent: CSV only)
                self.tb = None

    def truncate(self, step: int) -> None:
        """Forget rows after ``step`` (a resumed run redoes those updates)."""
        if not self.enabled:
            return
        path = self.out / "train.csv"
        if path.exists():
            lines = path.read_text().splitlines(keepends=True)
            keep = lines[:1] + [l for l in lines[1:] if l.split(",", 1)[0].isdigit() and int(l.split(",", 1)[0]) <= step]
            path.write_text("".join(keep))
        ev = self.out / "eval.jsonl"
        if ev.exists():
            rows = [l for l in ev.read_text().splitlines(keepends=True) if l.strip() and json.loads(l)["step"] <= step]
            ev.write_text("".join(rows))

    def row(self, values: dict) -> None:
        if not self.enabled:
            return
        path = self.out / "train.csv"
        new = not path.exists()
        with path.open("a", newline="") as f:
            w = csv.DictWriter(f, FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(values)
        if self.tb is not None:
            for k in ("g", "l1", "adv", "per", "d", "lr", "steps_per_s"):
                self.tb.add_scalar(f"train/{k}", values[k], values["step"])

    def eval_row(self, step: int, res: dict) -> None:
        if not self.enabled or not res:
            return
        with (self.out / "eval.jsonl").open("a") as f:
            f.write(json.dumps({"step": step, **res}) + "\n")
        if self.tb is not None:
            for r, v in res.items():
                if isinstance(v, dict):
                    self.tb.add_scalar(f"eval/psnr_gain_x{r}", v["psnr"] - v["bicubic_psnr"], step)

    def plot(self) -> None:
        if self.enabled:
            plot_curves(self.out)


def plot_curves(out) -> Path | None:
    """``loss_curves.png``: each loss term against updates (running mean of 20 rows),
    plus the held-out PSNR gain over bicubic when ``eval.jsonl`` exists."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out = Path(out)
    path = out / "train.csv"
    if not path.exists():
        return None
    with path.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    step = np.array([float(r["step"]) for r in rows])
    terms = [k for k in ("l1", "adv", "per", "d") if any(float(r[k]) != 0 for r in rows)]
    evals = []
    if (out / "eval.jsonl").exists():
        evals = [json.loads(l) for l in (out / "eval.jsonl").read_text().splitlines() if l.strip()]
    n = len(terms) + (1 if evals else 0)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.2), squeeze=False)
    for ax, k in zip(axes[0], terms):
        v = np.array([float(r[k]) for r in rows])
        w = min(20, len(v))
        ax.plot(step, v, alpha=0.3)
        ax.plot(step[w - 1 :], np.convolve(v, np.ones(w) / w, mode="valid"))
        ax.set_title(k)
        ax.set_xlabel("update")
    if evals:
        ax = axes[0][-1]
        for r in [k for k in evals[-1] if isinstance(evals[-1][k], dict)]:
            ax.plot([e["step"] for e in evals if r in e], [e[r]["psnr"] - e[r]["bicubic_psnr"] for e in evals if r in e], label=f"x{r}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title("held-out PSNR gain over bicubic (dB)")
        ax.legend(fontsize=6)
    fig.tight_layout()
    png = out / "loss_curves.png"
    tmp = out / ".loss_curves.png.part"
    fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    tmp.replace(png)
    return png
