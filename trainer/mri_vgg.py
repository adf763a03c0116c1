"""An MRI VGG for the perceptual loss, trained here from the training scans alone.

SRGAN's perceptual term compares VGG features of SR and HR.  ImageNet or MRI VGG
weights are not shipped and nothing is downloaded, so where none is at hand this
trains a narrow VGG16 trunk (through relu4_3, a quarter of VGG16's widths) on the
run's own training crops with labels that need no annotation:

* which acquisition made a patch and at what zoom: the HR patch itself, a bicubic or
  box downscale, a k-space crop unfiltered or with a reconstruction filter, each
  with or without Rician noise, resampled back onto the HR grid.  Telling these apart
  needs features that see blur, ringing, aliasing and noise texture: what an SR's
  perceptual distance should measure;
* which of four rotations the patch is in (rotation prediction, Gidaris et al. 2018),
  meant to add features of anatomy; on 64-pixel patches of head slices it stays near
  chance, so in practice the features are the acquisition tasks'.

The trunk is stored with ``trainer.vgg.save_vgg`` as a unit-range stack, scaled so
that its features of HR patches have unit mean square (a perceptual MSE is then a
fraction of the features' own energy); ``loss.vgg_weights`` reads it as any other.

    python -m trainer.mri_vgg --config trainer/configs/perceptual.toml -o runs/mri_vgg16.safetensors
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.acquisition import Degradation
from engine.render.bicubic import resample

from .data.crops import augment, random_patch
from .data.dataset import Crops
from .data.degrade import degrade
from .vgg import VGG_CFG, VGGFeatures, save_vgg, vgg_features

#: VGG16's first ten conv widths (through relu4_3), a quarter as wide.
WIDTHS = [16, 16, 32, 32, 64, 64, 64, 128, 128, 128]
CONVS = len(WIDTHS)
#: the acquisition classes; the HR patch itself is class 0
KINDS = ("hr", "bicubic", "area", "kspace", "kspace-filtered")
FILTERED = ("hamming", "hann", "tukey", "fermi")
ZOOMS = (1.5, 4.0)
SNR = (8.0, 60.0)


@dataclass(frozen=True)
class Sample:
    """One training patch and its labels."""

    image: np.ndarray  # (n, n) unit range, on the HR grid
    kind: int  # index into KINDS
    noisy: bool
    log_zoom: float  # 0 for the HR patch
    rotation: int  # quarter turns


def make_sample(crop: np.ndarray, n: int, rng: np.random.Generator) -> Sample:
    """A random ``n x n`` patch of ``crop``, degraded by a random acquisition (or not),
    in one of four rotations."""
    hr = augment(random_patch(crop, n, rng), int(rng.integers(0, 8))).astype(np.float32)
    kind = int(rng.integers(0, len(KINDS)))
    noisy = kind > 0 and rng.random() < 0.5
    zoom = float(np.exp(rng.uniform(*np.log(ZOOMS)))) if kind else 1.0
    img = hr
    if kind:
        snr = float(np.exp(rng.uniform(*np.log(SNR)))) if noisy else None
        name = KINDS[kind]
        if name == "kspace-filtered":
            d = Degradation("kspace", filter=FILTERED[int(rng.integers(0, len(FILTERED)))], snr=snr)
        else:
            d = Degradation(name, snr=snr)
        m = max(4, int(round(n / zoom)))
        lr = degrade(hr, (m, m), zoom, d, rng)
        img = resample(lr.astype(np.float32), (n, n)).astype(np.float32)
    rot = int(rng.integers(0, 4))
    return Sample(np.ascontiguousarray(np.rot90(img, rot)), kind, noisy, float(np.log(zoom)), rot)


class Heads(nn.Module):
    """The self-supervised tasks on the trunk's pooled features."""

    def __init__(self, width: int):
        super().__init__()
        self.kind = nn.Linear(width, len(KINDS))
        self.noisy = nn.Linear(width, 1)
        self.zoom = nn.Linear(width, 1)
        self.rotation = nn.Linear(width, 4)

    def forward(self, feats: torch.Tensor) -> dict:
        g = feats.mean((2, 3))
        return {"kind": self.kind(g), "noisy": self.noisy(g)[:, 0], "zoom": self.zoom(g)[:, 0], "rotation": self.rotation(g)}


def batch(crops: Crops, size: int, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, dict]:
    picks = rng.integers(0, len(crops), size)
    samples = [make_sample(crops.images[int(i)], n, rng) for i in picks]
    x = torch.from_numpy(np.stack([s.image for s in samples]))[:, None]
    labels = {
        "kind": torch.tensor([s.kind for s in samples]),
        "noisy": torch.tensor([float(s.noisy) for s in samples]),
        "zoom": torch.tensor([s.log_zoom for s in samples], dtype=torch.float32),
        "rotation": torch.tensor([s.rotation for s in samples]),
    }
    return x, labels


def losses(out: dict, labels: dict) -> dict:
    degraded = labels["kind"] > 0
    zoom = F.mse_loss(out["zoom"][degraded], labels["zoom"][degraded]) if degraded.any() else out["zoom"].sum() * 0
    noisy = F.binary_cross_entropy_with_logits(out["noisy"], labels["noisy"])
    return {"kind": F.cross_entropy(out["kind"], labels["kind"]), "noisy": noisy, "zoom": zoom,
            "rotation": F.cross_entropy(out["rotation"], labels["rotation"])}


def accuracy(out: dict, labels: dict) -> dict:
    return {"kind": float((out["kind"].argmax(1) == labels["kind"]).float().mean()),
            "noisy": float(((out["noisy"] > 0).float() == labels["noisy"]).float().mean()),
            "rotation": float((out["rotation"].argmax(1) == labels["rotation"]).float().mean())}


def trainable_trunk() -> nn.Sequential:
    """The trunk with batch normalisation after each conv: a plain VGG stack this deep
    barely learns in a few thousand updates; ``fold_batchnorm`` removes it afterwards."""
    layers, c, it = [], 3, iter(WIDTHS)
    for v in VGG_CFG[16][: CONVS + 3]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            w = next(it)
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w, momentum=0.1), nn.ReLU(inplace=True)]
            c = w
    return nn.Sequential(*layers)


def fold_batchnorm(trunk: nn.Sequential) -> nn.Sequential:
    """The same function as ``trunk`` in eval mode, as a plain ``vgg_features`` stack:
    each BatchNorm's affine map merged into the conv before it."""
    plain = vgg_features(16, WIDTHS + [512, 512, 512])[: 2 * CONVS + 3]
    convs = [m for m in trunk if isinstance(m, nn.Conv2d)]
    norms = [m for m in trunk if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for target, conv, bn in zip((m for m in plain if isinstance(m, nn.Conv2d)), convs, norms):
            g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            target.weight.copy_(conv.weight * g[:, None, None, None])
            target.bias.copy_((conv.bias - bn.running_mean) * g + bn.bias)
    return plain.eval()


def unit_energy(features: nn.Sequential, images: torch.Tensor) -> float:
    """Scale the last conv so HR features have unit mean square; returns the factor.
    ReLU is positively homogeneous, so scaling that conv's weight and bias scales the
    features and changes nothing else."""
    with torch.no_grad():
        ms = float(features(images.expand(-1, 3, -1, -1)).pow(2).mean())
        c = 1.0 / max(ms, 1e-12) ** 0.5
        last = [m for m in features if isinstance(m, nn.Conv2d)][-1]
        last.weight.mul_(c)
        last.bias.mul_(c)
    return c


def train(crops: Crops, steps: int = 1500, batch_size: int = 32, patch: int = 64, lr: float = 1e-3, seed: int = 0,
          log=print) -> tuple[VGGFeatures, dict]:
    """The trained trunk (features scaled to unit energy) and its held-back accuracies."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    trunk = trainable_trunk()
    heads = Heads(WIDTHS[-1])
    params = list(trunk.parameters()) + list(heads.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.perf_counter()
    for step in range(steps):
        x, labels = batch(crops, batch_size, patch, rng)
        out = heads(trunk(x.expand(-1, 3, -1, -1)))
        terms = losses(out, labels)
        total = sum(terms.values())
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            acc = accuracy(out, labels)
            log(f"step {step}: loss {total.item():.3f} " + " ".join(f"{k} {v.item():.3f}" for k, v in terms.items())
                + " | acc " + " ".join(f"{k} {v:.2f}" for k, v in acc.items()) + f" | {time.perf_counter() - t0:.0f} s")
    trunk.eval()
    check_rng = np.random.default_rng(seed + 1)
    with torch.no_grad():
        x, labels = batch(crops, 512, patch, check_rng)
        acc = accuracy(heads(trunk(x.expand(-1, 3, -1, -1))), labels)
        hr = torch.from_numpy(np.stack([augment(random_patch(crops.images[int(i)], patch, check_rng), 0)
                                        for i in check_rng.integers(0, len(crops), 256)]).astype(np.float32))[:, None]
    plain = fold_batchnorm(trunk)
    scale = unit_energy(plain, hr)
    return VGGFeatures(plain, None, None), {**{f"acc_{k}": v for k, v in acc.items()}, "energy_scale": scale}


def main(argv=None) -> int:
    from .config import load_config
    from .data.dataset import load_crops
    from .run_config import parse_config

    ap = argparse.ArgumentParser(prog="python -m trainer.mri_vgg", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="a training config: its data.train sources are the crops")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cfg = parse_config(load_config(a.config))
    crops = load_crops(cfg.data.train, cfg.data.root, cfg.data.crop, cfg.data.min_foreground)
    print(f"{len(crops)} training crops from {len(cfg.data.train)} sources", file=sys.stderr)
    vgg, stats = train(crops, a.steps, a.batch, a.patch, seed=a.seed, log=lambda s: print(s, file=sys.stderr))
    names = ", ".join(s.describe() for s in cfg.data.train)
    source = (f"MetaZoom MRI VGG16/4 (self-supervised: acquisition, zoom, noise, rotation; {a.steps} updates on {names}; "
              f"held-back accuracy kind {stats['acc_kind']:.2f} noise {stats['acc_noisy']:.2f} rotation {stats['acc_rotation']:.2f})")
    out = save_vgg(vgg, a.output, half=False, source=source)
    print(f"{out}: {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
