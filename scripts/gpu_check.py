"""The GPU check: one command for a machine with an NVIDIA GPU and no network.

``make gpu-check`` (or ``python scripts/gpu_check.py --out DIR``) runs, in order:

1. **parity**: the ``cuda``-marked tests (encode, render and a training update on the
   GPU against the CPU);
2. **engine**: 512x512 encode and 1024x1024 render on CUDA: float32, TF32, bf16 and
   fp16 autocast, channels_last and CUDA graphs, each with its accuracy against float32;
3. **training speed**: updates/s at minibatch 8, minibatches made inline or by workers;
4. **fine-tune**: ``--config`` trained for ``--train-seconds`` from its ``model.init``,
   then exported (weights + sidecar) with its checkpoint, so a later run resumes it;
   then, with ``--gan-config``, that config (the adversarial and perceptual terms)
   trained from the fine-tuned weights for ``--gan-seconds``.  Each run's files go
   into one archive, ``OUT/<name>.tar``.

Without CUDA it is a dry run: each GPU part prints why it is skipped, and the
fine-tune runs a few updates on the CPU, so the script is proven before GPU time is
spent.  Results: ``OUT/gpu_check.json`` and ``OUT/gpu_check.md``.

``python scripts/gpu_check.py pack --config C -o crops.npz`` stores the config's
training and held-out crops in one file (16-bit), for a GPU machine that has
neither the scans nor their readers: ``--crops crops.npz`` then trains on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.benchdoc import machine  # noqa: E402


def cuda() -> bool:
    return torch.cuda.is_available()


def sync():
    if cuda():
        torch.cuda.synchronize()


def timed_ms(fn, n: int, warm: int = 3) -> np.ndarray:
    for _ in range(warm):
        fn()
    sync()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t) * 1e3)
    return np.array(out)


def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - ref) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(float(np.ptp(ref)) ** 2 / mse)


# -- 1. parity --------------------------------------------------------------------
def parity(report: dict) -> None:
    tests = ["tests/engine/test_cuda_parity.py", "tests/trainer/test_cuda_parity.py",
             "tests/engine/test_api.py::test_cuda_render_matches_cpu"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:qt", "-m", "cuda", *tests]
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")])})
    tail = (r.stdout + r.stderr).strip().splitlines()[-25:]
    report["parity"] = {"returncode": r.returncode, "seconds": round(time.perf_counter() - t, 1), "tail": tail}
    print("\n".join(tail))


# -- 2. engine --------------------------------------------------------------------
def engine_speed(report: dict, reps: int) -> None:
    # without CUDA: the same code on the CPU's PyTorch trunk, small and once (a dry run)
    dev = torch.device("cuda" if cuda() else "cpu")
    # cuDNN's autotuner only here, for the fixed shapes of this part: training draws a new
    # patch shape nearly every update, and re-tuning each one cost more than the update
    bench_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        _engine_speed(report, reps, dev)
    finally:
        torch.backends.cudnn.benchmark = bench_before
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = False


def _engine_speed(report: dict, reps: int, dev: torch.device) -> None:
    from engine.bench import test_slice
    from engine.geometry import ZoomGrid, parse_scale
    from engine.render.phase_table import phase_table
    from engine.render.torch_upscale import bicubic_torch, windows_upscale
    from engine.upscaler import Upscaler, load_upscaler
    from engine.weights import load_weights

    n, big_n, out_n = (512, 960, 1024) if cuda() else (64, 128, 128)
    up = load_upscaler(device=dev.type, bf16=False) if cuda() else \
        Upscaler(*load_weights(None, expect="meta_srgan"), dev, bf16=False, winograd=False)
    img = test_slice(n)
    lr, _, _ = up._normalise(img, None)
    x = torch.from_numpy(lr)[None, None].to(dev)
    net = up._trunk_net
    rows = {}

    def variant(name, fn):
        with torch.no_grad():
            t = timed_ms(fn, reps)
            f = fn().float()
        rows[name] = {"p50_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)), "feats": f}
        print(f"encode {n}x{n} {name}: p50 {np.median(t):.2f} ms  p95 {np.percentile(t, 95):.2f} ms")

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    variant("float32", lambda: net(x))
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cuda.matmul.allow_tf32 = True
    variant("tf32", lambda: net(x))
    for dt, name in ((torch.bfloat16, "bf16 autocast"), (torch.float16, "fp16 autocast")):
        def run(dt=dt):
            with torch.autocast(dev.type, dtype=dt):
                return net(x)
        variant(name, run)
    net_cl = net.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def run_cl():
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            return net_cl(x_cl)
    variant("bf16 autocast, channels_last", run_cl)
    # a CUDA graph replays the whole trunk as one launch: launch overhead is most of a
    # small network's time on a big GPU
    try:
        if not cuda():
            raise RuntimeError("no CUDA GPU")
        static_x = x_cl.clone()
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s), torch.no_grad():
            for _ in range(3):
                run_cl()
        torch.cuda.current_stream().wait_stream(s)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g), torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            static_out = net_cl(static_x)

        def replay():
            g.replay()
            return static_out
        variant("bf16, channels_last, CUDA graph", replay)
    except Exception as e:  # report, keep going: the other numbers still count
        print(f"CUDA graph: failed ({type(e).__name__}: {e})")
        rows["bf16, channels_last, CUDA graph"] = {"error": f"{type(e).__name__}: {e}"}
    net.to(memory_format=torch.contiguous_format)

    # accuracy of each variant: the x2 render from its features against float32's
    ref_f = rows["float32"]["feats"]
    grid = ZoomGrid.make(lr.shape, parse_scale(2.0))
    my, mx = grid.axis_maps(grid.region(None))
    table = phase_table(up.model.weights, my, mx, dev)
    lr_t = x.float()

    def render_from(f):
        with torch.no_grad():
            return (windows_upscale(f, table, my, mx) + bicubic_torch(lr_t, grid.out_shape))[0, 0].cpu().numpy()
    ref = render_from(ref_f)
    enc = {}
    for name, row in rows.items():
        if "feats" in row:
            f = row.pop("feats")
            row["x2_render_psnr_vs_float32_db"] = psnr(render_from(f), ref)
        enc[name] = row
    report["encode_512"] = enc

    # render a 1024x1024 viewport: device-only, and delivered to the host as the viewer gets it
    big = test_slice(big_n, 2)
    feats = up.encode(big)
    lr_big = torch.from_numpy(feats.lr)[None, None].to(dev)
    f_big = up.features_tensor(feats.lr)
    ren = {}
    for s in (1.1, 1.5, 2.0, 2.37, 3.0, 4.0):
        grid = ZoomGrid.make(feats.shape, parse_scale(s))
        H, W = grid.out_shape
        region = ((H - out_n) // 2, (W - out_n) // 2, out_n, out_n)
        my, mx = grid.axis_maps(grid.region(region))
        table = phase_table(up.model.weights, my, mx, dev)

        def on_device():
            with torch.no_grad():
                return windows_upscale(f_big, table, my, mx) + bicubic_torch(lr_big, grid.out_shape, region)
        t_dev = timed_ms(on_device, reps)
        t_host = timed_ms(lambda: up.render(feats, s, region), reps)
        ren[f"x{s:g}"] = {"device_p50_ms": float(np.median(t_dev)), "host_p50_ms": float(np.median(t_host)),
                          "host_p95_ms": float(np.percentile(t_host, 95))}
        print(f"render {out_n}x{out_n} x{s:g}: on device p50 {np.median(t_dev):.2f} ms; to host p50 {np.median(t_host):.2f} ms")
    report["render_1024"] = ren
    report["engine_device"] = f"{dev}" + ("" if cuda() else f" (dry run: {n}x{n} encode, {out_n}x{out_n} render)")


# -- 3. training speed -------------------------------------------------------------
def load_packed(path):
    from trainer.data.dataset import Crops

    z = np.load(path)
    out = []
    for part in ("train", "test"):
        imgs = z[f"{part}_images"].astype(np.float32) / 65535.0
        out.append(Crops(list(imgs), [str(n) for n in z[f"{part}_names"]]))
    return out


def crops_for(cfg, packed):
    from trainer.data.dataset import load_crops

    if packed:
        return load_packed(packed)
    d = cfg["data"]
    train = load_crops(d["train"], d["root"], d["crop"], d["min_foreground"])
    test = load_crops(d["test"], d["root"], d["crop"], d["min_foreground"])
    return train, test


def training_speed(report: dict, cfg: dict, crops, steps: int, workers: int) -> None:
    import copy

    from trainer.run_config import parse_config
    from trainer.train import Trainer

    dev = torch.device("cuda" if cuda() else "cpu")
    rows = {}
    for w in (0, workers):
        c = copy.deepcopy(cfg)
        c["out"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu_check_speed_{w}")
        c["data"]["batch"] = 8
        c["train"].update({"workers": w, "progress": False, "eval_every": 10**9, "ckpt_every": 10**9, "ema": 0.0})
        tr = Trainer(parse_config(c), device=dev, crops=crops[0], test_crops=crops[1], quiet=True)
        tr.run(20 if cuda() else 1)  # warm-up: cuDNN picks its algorithms, workers start
        sync()
        t = time.perf_counter()
        tr.run(tr.step + steps)
        sync()
        el = time.perf_counter() - t
        rows[f"workers={w}"] = {"updates_per_s": steps / el, "bf16": tr.bf16, "steps": steps}
        print(f"training, minibatch 8, workers={w}, bf16={tr.bf16}: {steps / el:.1f} updates/s")
        shutil.rmtree(c["out"], ignore_errors=True)
    report["training_speed"] = {"device": str(dev), **rows}


# -- 4. fine-tunes --------------------------------------------------------------------
def finetune(report: dict, key: str, cfg: dict, crops, seconds: float, out: Path, resume: str | None = None,
             keep_checkpoint: bool = True) -> Path:
    """Train ``cfg`` for ``seconds``; ``OUT/<key>.tar`` gets the exported weights, the
    run's logs and (``keep_checkpoint``) its last checkpoint, for a later resume."""
    import tarfile

    from trainer.export import export
    from trainer.run_config import parse_config
    from trainer.train import Trainer

    dev = torch.device("cuda" if cuda() else "cpu")
    run = Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu_check_{key}"
    shutil.rmtree(run, ignore_errors=True)
    cfg["out"] = str(run)
    cfg["train"]["progress"] = False
    tr = Trainer(parse_config(cfg), device=dev, crops=crops[0], test_crops=crops[1], resume=resume or None)
    if resume:
        print(f"{key}: resumed at update {tr.step}")
    start, t0 = tr.step, time.perf_counter()
    tr.run(max(int(cfg["steps"]), tr.step + 1), seconds=seconds)
    ck = tr.save()
    evals = tr.quick_eval()
    where = f"{torch.cuda.get_device_name(0) if cuda() else 'CPU'}"
    weights = export(ck, run / f"meta_srgan_{key}.safetensors", note=f"{key} fine-tune by scripts/gpu_check.py on {where}")
    members = [weights, weights.with_suffix(".json"), run / "train.csv", run / "eval.jsonl"]
    if keep_checkpoint:
        members += [ck, ck.parent / ck.name.replace(".safetensors", ".json")]
    with tarfile.open(out / f"{key}.tar", "w") as tar:
        for m in members:
            if m.exists():
                tar.add(m, arcname=m.name)
    report[key] = {"device": str(dev), "from_update": start, "to_update": tr.step, "seconds": round(time.perf_counter() - t0, 1),
                   "updates_per_s": round((tr.step - start) / max(time.perf_counter() - t0, 1e-9), 2),
                   "archive": f"{key}.tar", "checkpoint": ck.name if keep_checkpoint else None, "held_out": evals}
    print(json.dumps(report[key], default=str)[:2000], flush=True)
    return weights


def write_md(report: dict, out: Path) -> None:
    L = [f"Machine: {report['machine']}", ""]
    if "engine_device" in report:
        L += [f"Engine on {report['engine_device']}.", ""]
    if "parity" in report:
        p = report["parity"]
        L += [f"Parity tests: exit {p['returncode']} in {p['seconds']} s; last line: `{(p['tail'] or [''])[-1]}`", ""]
    if isinstance(report.get("encode_512"), dict):
        L += ["| encode 512x512 | p50 ms | p95 ms | x2 render PSNR vs float32 |", "|---|---|---|---|"]
        for k, v in report["encode_512"].items():
            if "p50_ms" in v:
                L.append(f"| {k} | {v['p50_ms']:.2f} | {v['p95_ms']:.2f} | {v['x2_render_psnr_vs_float32_db']:.1f} dB |")
        L.append("")
    if isinstance(report.get("render_1024"), dict):
        L += ["| render 1024x1024 | on device p50 ms | to host p50 ms | to host p95 ms |", "|---|---|---|---|"]
        for k, v in report["render_1024"].items():
            L.append(f"| {k} | {v['device_p50_ms']:.2f} | {v['host_p50_ms']:.2f} | {v['host_p95_ms']:.2f} |")
        L.append("")
    if "training_speed" in report:
        L += [f"Training speed ({report['training_speed']['device']}, minibatch 8): " + "; ".join(
            f"{k}: {v['updates_per_s']:.1f} updates/s" for k, v in report["training_speed"].items() if isinstance(v, dict)), ""]
    for key in ("fidelity", "perceptual"):
        if key in report:
            f = report[key]
            L += [f"Fine-tune {key}: updates {f['from_update']} -> {f['to_update']} in {f['seconds']} s on {f['device']} "
                  f"({f['updates_per_s']} updates/s).", ""]
    (out / "gpu_check.md").write_text("\n".join(L) + "\n")


def pack(argv) -> int:
    from trainer.config import load_config

    ap = argparse.ArgumentParser(prog="gpu_check.py pack")
    ap.add_argument("--config", required=True)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    cfg = load_config(a.config)
    train, test = crops_for(cfg, None)
    arrays = {}
    for part, c in (("train", train), ("test", test)):
        arrays[f"{part}_images"] = np.round(np.clip(np.stack(c.images), 0, 1) * 65535).astype(np.uint16)
        arrays[f"{part}_names"] = np.array(c.names)
    np.savez_compressed(a.output, **arrays)
    print(f"{a.output}: {len(train)} training and {len(test)} held-out crops")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pack"]:
        return pack(argv[1:])
    from trainer.config import load_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.environ.get("OUT") or "runs/gpu_check")
    ap.add_argument("--config", default="trainer/configs/mri.toml", help="the fine-tune's config (its data, model.init)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides")
    ap.add_argument("--crops", default=None, help="packed crops (see 'pack') instead of reading the config's scans")
    ap.add_argument("--train-seconds", type=float, default=None, help="fine-tune length (default: 300 on CUDA, 20 dry)")
    ap.add_argument("--resume", default=None, help="a checkpoint to continue the fine-tune from")
    ap.add_argument("--gan-config", default=None, help="then train this config (its model.init: the fine-tuned weights)")
    ap.add_argument("--gan-set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--gan-seconds", type=float, default=0.0)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--workers", type=int, default=min(12, max(1, (os.cpu_count() or 2) - 2)))
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: parity,engine,speed,finetune")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, a.skip.split(",")))
    report = {"machine": machine(), "cuda": cuda(), "torch": torch.__version__}
    print(report["machine"], flush=True)
    t0 = time.perf_counter()

    def save():
        report["seconds"] = round(time.perf_counter() - t0, 1)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
        write_md(report, out)

    def phase(name, fn, *args):
        """One part; a failure is reported and the parts after it still run."""
        import traceback

        try:
            return fn(*args)
        except Exception as e:  # noqa: BLE001  (GPU time is scarce: keep going, say what broke)
            traceback.print_exc()
            report.setdefault("errors", {})[name] = f"{type(e).__name__}: {e}"
            return None
        finally:
            save()

    if "parity" not in skip:
        phase("parity", parity, report)
    if "engine" not in skip:
        phase("engine", engine_speed, report, a.reps if cuda() else 1)
    cfg = load_config(a.config, a.set)
    crops = None
    if not {"speed", "finetune"} <= skip:
        crops = crops_for(cfg, a.crops)
        print(f"{len(crops[0])} training crops, {len(crops[1])} held-out", flush=True)
    if "speed" not in skip:
        phase("speed", training_speed, report, cfg, crops, 300 if cuda() else 2, a.workers if cuda() else 1)
    if "finetune" not in skip:
        seconds = a.train_seconds if a.train_seconds is not None else (300.0 if cuda() else 20.0)
        weights = phase("fidelity", finetune, report, "fidelity", cfg, crops, seconds, out, a.resume)
        if weights is not None and a.gan_config and a.gan_seconds > 0:
            gan = load_config(a.gan_config, [*a.gan_set, f'model.init="{weights}"'])
            phase("perceptual", finetune, report, "perceptual", gan, crops, a.gan_seconds, out, None, False)
    print(f"gpu check done in {time.perf_counter() - t0:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
