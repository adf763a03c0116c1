"""``metazoom-train retrain``: weights fine-tuned on a site's own scans, in one command.

    metazoom-train retrain /data/site/*.nii.gz /data/site/dicom/series1 -o site.safetensors

What it does, so a site needs no config file:

1. builds the run's config from the starting weights (default: the bundled ones): their
   architecture and input normalisation, L1 as the bundled weights were trained, 30% of
   minibatches at a different zoom per axis (reformats), the paper's scales;
2. holds out ``--hold-out`` slices in the middle of every scan (along ``--plane``: the
   ends of a head scan are mostly air, which would leave little to score) and trains on
   the slices either side, starting from the weights (``--steps`` updates; ``--resume``
   continues);
3. exports the last checkpoint to ``-o`` (safetensors + sidecar, its lineage naming the
   starting weights);
4. scores bicubic, the starting weights and the retrained ones on the held-out slices and
   stores the retrained scores in the sidecar; the table is printed and kept in the run
   folder (``eval/``), so the site sees whether retraining helped before using the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import PathError
from engine.io import PLANES, n_slices
from engine.io.nifti import is_nifti
from engine.weights import BUNDLED, read_info

from .config import apply_override, load_config
from .data.scales import parse_scales
from .data.scans import brats_files, read_volume

#: Scales the retrained network is checked at while it trains (cheap: square zooms).
CHECK_SCALES = [1.5, 2.0, 3.0, 4.0]


class RetrainError(PathError, ValueError):
    """A retraining request that cannot work (no scans, nothing left to train on);
    ``.path`` names the file or folder when one is to blame."""


def sources(scans, plane: str, modality: str | None) -> list[dict]:
    """``[[data.train]]``-style entries (without ``keep``) for files and folders:
    a NIfTI file; a folder of NIfTI files (each one); a DICOM series folder (or a file
    of one: its folder); with ``modality``, a BraTS-style folder of cases."""
    out = []
    for raw in scans:
        p = Path(raw).expanduser().resolve()
        if not p.exists():
            raise RetrainError(p, "no such file or folder")
        if modality:
            out.append({"kind": "brats", "path": str(p), "plane": plane, "modality": modality})
        elif p.is_file():
            out.append({"kind": "nifti" if is_nifti(p) else "dicom", "path": str(p if is_nifti(p) else p.parent), "plane": plane})
        else:
            niftis = sorted(f for f in p.rglob("*") if f.is_file() and is_nifti(f))
            if niftis:
                out += [{"kind": "nifti", "path": str(f), "plane": plane} for f in niftis]
            else:
                out.append({"kind": "dicom", "path": str(p), "plane": plane})
    if not out:
        raise RetrainError(None, "no scans given")
    unique = {(e["kind"], e["path"]): e for e in out}  # a file also named through its folder: once
    return list(unique.values())


def slice_count(entry: dict) -> int:
    """Slices of a source in its plane, as the viewer counts them (a BraTS folder: of its first case)."""
    path = Path(entry["path"])
    if entry["kind"] == "brats":
        path = brats_files(path, entry["modality"])[0]
    return n_slices(read_volume(path), entry["plane"])


def held_out_block(n: int, hold_out: int) -> tuple[int, int]:
    """Slices ``a:b`` held out of ``n``: ``hold_out`` of them around the middle."""
    if n < hold_out + 2:
        raise RetrainError(None, f"a scan of {n} slices cannot hold out {hold_out} and still train: use --hold-out {max(1, n // 5)}")
    a = (n - hold_out) // 2
    return a, a + hold_out


def retrain_config(scans, *, init=None, steps: int = 2000, hold_out: int = 10, plane: str = "axial",
                   modality: str | None = None, run=None, threads: int = 0, overrides=()) -> dict:
    """The training config for ``retrain`` (see the module's docstring)."""
    if plane not in PLANES:
        raise RetrainError(None, f"plane must be one of {', '.join(PLANES)}, got {plane!r}")
    if hold_out < 1:
        raise RetrainError(None, f"--hold-out must be at least 1 slice per scan, got {hold_out}")
    if int(steps) < 1:
        raise RetrainError(None, f"--steps must be at least 1, got {steps}")
    init = Path(init).expanduser().resolve() if init else BUNDLED
    info = read_info(init)
    if info.arch.get("name") != "meta_srgan":
        raise RetrainError(init, f"retraining starts from Meta-SRGAN weights, this file holds {info.arch.get('name')!r}")
    cfg = load_config(None, ())
    cfg.update(name="site_retrain", steps=int(steps), out=str(run or Path("runs") / "retrain"))
    cfg["model"] = {"name": "meta_srgan", "args": dict(info.arch.get("args", {})), "init": str(init)}
    d = cfg["data"]
    d["root"] = "/"
    # the starting weights' normalisation: the network keeps reading its input as it learnt to
    d["normalization"] = "init"
    d["anisotropic"] = 0.3
    d["train"], d["test"] = [], []
    for e in sources(scans, plane, modality):
        a, b = held_out_block(slice_count(e), hold_out)
        d["train"] += [{**e, "keep": f"0:{a}"}, {**e, "keep": f"{b}:"}]
        d["test"].append({**e, "keep": f"{a}:{b}"})
    # L1 alone, as the bundled weights (their sidecar's note and docs/RESULTS.md say why)
    cfg["loss"].update(adversarial=0.0, perceptual=0.0)
    every = max(1, min(500, int(steps) // 4))
    # the running average of the weights: after a fresh optimiser starts on trained weights
    # the weights wander, the average does not (docs/RESULTS.md, stage 5: 0.02-0.26 dB better)
    cfg["train"].update(threads=int(threads), ckpt_every=every, eval_every=every, eval_scales=list(CHECK_SCALES), keep=2,
                        ema=0.999)
    for o in overrides:
        apply_override(cfg, o)
    return cfg


def retrain(args) -> int:
    import torch

    from .checkpoint import last_checkpoint
    from .export import export, metrics_from_eval
    from .report import evaluate
    from .run_config import parse_config
    from .train import Trainer

    output = Path(args.output).expanduser()
    if output.suffix != ".safetensors":
        raise RetrainError(output, "-o must name a .safetensors file")
    run = Path(args.run) if args.run else Path("runs") / f"retrain_{output.name.removesuffix('.safetensors')}"
    init = Path(args.init).expanduser().resolve() if args.init else BUNDLED
    if output.resolve() in (init.resolve(), BUNDLED.resolve()):
        raise RetrainError(output, "-o would overwrite the weights it starts from: name a new file")
    if (run / "checkpoints" / "last.txt").is_file() and not args.resume:
        raise RetrainError(run, "holds an earlier run: --resume to continue it, or --run another folder")
    cfg = retrain_config(args.scans, init=init, steps=args.steps, hold_out=args.hold_out, plane=args.plane,
                         modality=args.modality, run=run, threads=args.threads, overrides=args.set)
    resume = last_checkpoint(run) if args.resume else None
    tr = Trainer(parse_config(cfg), device=torch.device("cpu") if args.cpu or not torch.cuda.is_available() else torch.device("cuda"),
                 resume=resume)
    if not tr.crops:
        raise RetrainError(None, "no training crops: the slices around the held-out ones hold too little signal; use fewer (--hold-out) or more scans")
    if not tr.test_crops:
        raise RetrainError(None, "the held-out slices hold no usable crop (too little signal) to compare with: try another --hold-out or --plane")
    if resume is not None:
        print(f"resumed at update {tr.step}", file=sys.stderr)
    print(f"retraining {init.name} on {len(tr.crops)} crops ({len(tr.test_crops)} held out) for {cfg['steps']} updates; "
          f"run folder {run}", file=sys.stderr)
    tr.run()
    folder = run / "checkpoints"
    last = folder / (folder / "last.txt").read_text().strip()
    # the last checkpoint is scored as it is (the same network the file will hold), so
    # the file is written once, with its scores
    results = evaluate(cfg, {"before": str(init), "retrained": str(last)}, parse_scales(args.scales), run / "eval", quiet=True)
    export(last, output, note=f"retrained by metazoom-train retrain from {init.name}",
           metrics=metrics_from_eval(run / "eval" / "results.json", "retrained"))
    print(comparison(results))
    print(f"wrote {output} (+ {output.with_suffix('.json').name}); full results in {run / 'eval'}")
    return 0


def comparison(results: dict) -> str:
    """Held-out PSNR per zoom: bicubic, before, after, and the change."""
    lines = ["| zoom | bicubic PSNR | before | retrained | change |", "|---|---|---|---|---|"]
    for key, by in results.items():
        b, p, r = by["bicubic"]["psnr_mean"], by["before"]["psnr_mean"], by["retrained"]["psnr_mean"]
        lines.append(f"| x{key} | {b:.2f} | {p:.2f} | {r:.2f} | {r - p:+.2f} dB |")
    return "\n".join(lines)


