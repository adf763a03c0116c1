"""``metazoom-train``: train, evaluate, export.

    metazoom-train train  --config configs/x.toml [--set optim.lr=2e-4 ...] [--resume]
    metazoom-train eval   --config configs/x.toml --model meta=W.safetensors --model srgan=C.ckpt.safetensors -o OUT
    metazoom-train eval   --config configs/realistic.toml --model shipped=W.safetensors --degradations bicubic,kspace,kspace-noise -o OUT
    metazoom-train retrain SCAN... -o site.safetensors [--steps 2000]   # a site's own scans, no config file
    metazoom-train export runs/x/checkpoints/best.ckpt.safetensors -o resources/weights/meta_srgan.safetensors
    metazoom-train stats  --config configs/x.toml      # mean/std of the training crops
    metazoom-train average runs/x/checkpoints/step_*.ckpt.safetensors -o runs/x/mean.ckpt.safetensors

Also ``python -m trainer ...`` and ``torchrun --nproc_per_node=N -m trainer train ...``.
"""

from __future__ import annotations

import argparse
import os
import sys

from engine.errors import MetaZoomError

from .data.scales import EVAL_PAIRS, EVAL_SCALES, scale_key


def _train(args) -> int:
    import torch
    import torch.distributed as dist

    from .checkpoint import last_checkpoint
    from .config import load_config
    from .run_config import parse_config
    from .train import Trainer

    config = parse_config(load_config(args.config, args.set))
    resume = args.resume_from or (last_checkpoint(config.out) if args.resume else None)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    device = torch.device("cpu")
    if torch.cuda.is_available() and not args.cpu:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        tr = Trainer(config, rank=rank, world=world, device=device, resume=resume)
        if resume is not None and rank == 0:
            print(f"resumed at update {tr.step}", file=sys.stderr)
        if rank == 0:
            print(f"{len(tr.crops)} training crops, {len(tr.test_crops)} test crops; normalisation mean {tr.mean:.4f} std {tr.std:.4f}; "
                  f"bf16 {tr.bf16}; {world} process(es) on {device}", file=sys.stderr)
        tr.run()
        if world > 1:  # tear down together: gloo can abort a process whose peer already left
            dist.barrier()
    finally:
        if world > 1:
            dist.destroy_process_group()
    return 0


def _stats(args) -> int:
    from .config import load_config
    from .data.dataset import load_crops

    cfg = load_config(args.config, args.set)
    d = cfg["data"]
    crops = load_crops(d["train"], d["root"], d["crop"], d["min_foreground"])
    mean, std = crops.stats()
    print(f"{len(crops)} crops: mean {mean:.6f} std {std:.6f}")
    return 0


def _export(args) -> int:
    from .export import export

    metrics = None
    if args.metrics:
        from .export import metrics_from_eval

        metrics = metrics_from_eval(args.metrics, args.metrics_model)
    path = export(args.checkpoint, args.output, note=args.note, metrics=metrics, averaged=not args.trained_weights)
    print(path)
    return 0


def _average(args) -> int:
    from .checkpoint import average_checkpoints

    print(average_checkpoints(args.checkpoints, args.output))
    return 0


def _retrain(args) -> int:
    from .retrain import retrain

    return retrain(args)


def _eval(args) -> int:
    if args.degradations:
        from .config import load_config
        from .data.scales import parse_scales
        from .degradation_eval import evaluate_degradations

        models = dict(spec.split("=", 1) for spec in args.model if "=" in spec)
        if len(models) != len(args.model):
            raise ValueError("--model takes NAME=PATH")
        degs = [d.strip() for d in args.degradations.split(",") if d.strip()]
        evaluate_degradations(load_config(args.config, args.set), models, parse_scales(args.scales), degs, args.out, vgg=args.vgg)
        return 0
    from .report import run_eval

    run_eval(args)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="metazoom-train", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train a generator (Meta-SRGAN or a baseline)")
    t.add_argument("--config", required=True)
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value (TOML syntax)")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    t.add_argument("--resume-from", default=None, help="continue from this checkpoint")
    t.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU present")
    t.set_defaults(fn=_train)

    s = sub.add_parser("stats", help="mean/std of the training crops")
    s.add_argument("--config", required=True)
    s.add_argument("--set", action="append", default=[])
    s.set_defaults(fn=_stats)

    e = sub.add_parser("export", help="checkpoint -> the engine's weights file (+ JSON sidecar)")
    e.add_argument("checkpoint")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--note", default="")
    e.add_argument("--metrics", default=None, metavar="RESULTS_JSON",
                   help="store this model's held-out PSNR/SSIM from `metazoom-train eval`'s results.json in the sidecar")
    e.add_argument("--metrics-model", default="meta_srgan", metavar="NAME", help="the model's name in that results.json")
    e.add_argument("--trained-weights", action="store_true",
                   help="a run with train.ema exports the running average of its weights; this exports the trained ones")
    e.set_defaults(fn=_export)

    a = sub.add_parser("average", help="the generator's weights averaged over checkpoints of one run -> a checkpoint")
    a.add_argument("checkpoints", nargs="+")
    a.add_argument("-o", "--output", required=True, help="a .ckpt.safetensors path")
    a.set_defaults(fn=_average)

    r = sub.add_parser("retrain", help="fine-tune weights on a site's own scans (no config file): hold slices out, "
                                        "train, export, compare before/after")
    r.add_argument("scans", nargs="+", help="NIfTI files, folders of them, DICOM series folders (or BraTS folders with --modality)")
    r.add_argument("-o", "--output", required=True, help="the retrained weights, a .safetensors file (+ .json sidecar)")
    r.add_argument("--from", dest="init", default=None, help="weights to start from (default: the bundled ones)")
    r.add_argument("--steps", type=int, default=2000, help="updates (default 2000: ~20 min on 2 CPU cores)")
    r.add_argument("--hold-out", type=int, default=10, help="slices held out in the middle of every scan, for the comparison")
    r.add_argument("--plane", default="axial", choices=("axial", "coronal", "sagittal"))
    r.add_argument("--modality", default=None, help="BraTS-style folders of cases: the file suffix to read, e.g. t1ce")
    r.add_argument("--run", default=None, help="run folder for checkpoints and logs (default runs/retrain_<name>)")
    r.add_argument("--resume", action="store_true", help="continue the run folder's last checkpoint")
    r.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    r.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU present")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config value (TOML syntax)")
    r.add_argument("--scales", default=",".join(scale_key(r) for r in (*EVAL_SCALES, *EVAL_PAIRS)),
                   help="zooms of the before/after comparison (as eval's --scales)")
    r.set_defaults(fn=_retrain)

    v = sub.add_parser("eval", help="PSNR/SSIM per scale on the held-out crops, tables, plot, image grid")
    v.add_argument("--config", required=True, help="a config whose data.test names the held-out slices")
    v.add_argument("--set", action="append", default=[])
    v.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="weights file or checkpoint; repeatable")
    v.add_argument("--scales", default=",".join(scale_key(r) for r in (*EVAL_SCALES, *EVAL_PAIRS)),
                   help="comma-separated zooms; RYxRX is a pair (rows x cols), as thick-slice reformats ask for")
    v.add_argument("--degradations", default="", metavar="NAMES",
                   help="score under each of these ways of making the LR input (engine.acquisition.NAMED: bicubic, area, "
                        "kspace, kspace-hamming, kspace-noise, ...) against bicubic, Lanczos-3 and zero-fill, per held-out group")
    v.add_argument("--vgg", default=None, metavar="FILE",
                   help="with --degradations: VGG weights (.safetensors from python -m trainer.vgg, .pth or .onnx) for an "
                        "LPIPS-style perceptual distance; without it that column is skipped")
    v.add_argument("-o", "--out", required=True, help="folder for results.json, results.md and the PNGs")
    v.set_defaults(fn=_eval)

    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except MetaZoomError as e:
        print(f"metazoom-train: {e}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as e:
        print(f"metazoom-train: {e}", file=sys.stderr)
        return 2
