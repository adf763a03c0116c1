"""The trunk through every inference runtime at hand, interleaved in one run.

``engine.bench`` calls ``compare``: the engine's own trunk (whatever ``Upscaler.backend``
names) against PyTorch, ONNX Runtime and OpenVINO at each precision the machine runs
natively, each timed round-robin on the same 512x512 slice (so load from other work
hits all alike), each with its output PSNR against float32 and its time as a ratio to
the engine's; and the machine's measured peak (a large GEMM at that precision) with
the trunk's share of it.  Every optional runtime is imported here, lazily, and a
missing one is skipped with the reason printed.
"""

from __future__ import annotations

import copy
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .features import SliceFeatures
from .render.inference_trunk import fold_trunk

#: Kept runtimes' outputs must be within this of float32 to count as equal accuracy
#: (the int8 bar of issue 19: 45 dB output PSNR on real slices).
EQUAL_ACCURACY_DB = 45.0

REAL_SERIES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dicom" / "vs-seg-001-t1"


@dataclass
class Candidate:
    name: str
    precision: str
    run: Callable[[np.ndarray], np.ndarray]  # normalised (h, w) -> padded (h + 2, w + 2, C) features
    kept: bool = True  # a runtime the engine could use (not a reference)
    times: list = field(default_factory=list)
    psnr: float = float("nan")


def real_slices(n: int = 5) -> tuple[list[np.ndarray], str]:
    """Up to ``n`` 512x512 slices of the real MR series beside the checkout (spread
    over it), or synthetic ones when it or pydicom is absent; and where they came from."""
    try:
        import pydicom

        files = sorted(REAL_SERIES.glob("*.dcm"))
        if len(files) >= n:
            picks = [files[i] for i in np.linspace(len(files) * 0.2, len(files) * 0.8, n).astype(int)]
            return [pydicom.dcmread(f).pixel_array.astype(np.float32) for f in picks], f"real slices of {REAL_SERIES.name}"
    except Exception:  # no pydicom, unreadable files: synthetic slices below
        pass
    from .bench import test_slice

    return [test_slice(512, 10 + i) for i in range(n)], "synthetic slices (the real series is absent)"


def _padded(f) -> np.ndarray:
    """(1, C, h, w) array or tensor -> zero-bordered (h + 2, w + 2, C); padded ones as they are."""
    if isinstance(f, torch.Tensor):
        f = f.float().cpu().numpy()
    if f.ndim == 3:
        return f
    c, h, w = f.shape[1:]
    out = np.zeros((h + 2, w + 2, c), np.float32)
    out[1:-1, 1:-1] = f[0].transpose(1, 2, 0)
    return out


def onnx_bytes(folded: torch.nn.Module) -> bytes:
    """The folded trunk as ONNX (dynamic height and width)."""
    buf = io.BytesIO()
    x = torch.zeros(1, 1, 64, 64)
    torch.onnx.export(folded, (x,), buf, input_names=["lr"], output_names=["features"], opset_version=17,
                      dynamic_axes={"lr": {2: "h", 3: "w"}, "features": {2: "h", 3: "w"}}, dynamo=False)
    return buf.getvalue()


def int8_onnx(model_bytes: bytes, calib: list[np.ndarray], workdir: Path) -> Path:
    """ONNX Runtime's static post-training quantisation (QDQ, per-channel int8 weights,
    uint8 activations as x86 wants them), calibrated on ``calib``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, pre, out = workdir / "trunk.onnx", workdir / "trunk_pre.onnx", workdir / "trunk_int8.onnx"
    src.write_bytes(model_bytes)
    quant_pre_process(str(src), str(pre))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"lr": c[None, None]} for c in calib])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def cpu_isa() -> dict:
    """What the CPU runs natively, from /proc/cpuinfo (Linux) and oneDNN."""
    from .upscaler import cpu_has_bf16

    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    return {"bf16": cpu_has_bf16(), "amx": "amx_bf16" in flags, "avx512": "avx512f" in flags,
            "vnni": bool({"avx512_vnni", "avx_vnni"} & flags)}


def _gemm(device: torch.device, dtype: torch.dtype, n: int) -> Callable[[], object]:
    """An n x n x n matrix product at ``dtype``: timed, the machine's practical peak."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return lambda: torch.mm(a, b)


def _timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    with torch.no_grad():
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) * 1e3


def _threads(up) -> str:
    return f"{torch.get_num_threads()} threads each" if up.device.type == "cpu" else f"on {up.device}"


def _cpu_renderer(up):
    """A CPU copy of a GPU engine, to render every trunk's features the same way."""
    from .upscaler import Upscaler

    return Upscaler(copy.deepcopy(up.model).cpu(), up.info, torch.device("cpu"), bf16=False, runtime="torch")


def trunk_flops(trunk: torch.nn.Module, h: int, w: int) -> float:
    """Multiply-adds x 2 of the trunk's convolutions as direct convolutions."""
    return sum(2.0 * m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * h * w
               for m in trunk.modules() if isinstance(m, torch.nn.Conv2d))


def gpu_candidates(up) -> tuple[list[Candidate], list[str]]:
    """On a GPU: the engine's float32 PyTorch trunk against bf16/fp16 autocast
    (channels-last) and ONNX Runtime's CUDA provider where it is installed."""
    dev = up.device
    folded = fold_trunk(up.model.trunk).to(dev).to(memory_format=torch.channels_last)
    out = [Candidate(f"engine ({up.backend})", "fp32", lambda lr: up._trunk_net(torch.from_numpy(lr)[None, None].to(dev)))]
    for name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        def run(lr, dt=dt):
            x = torch.from_numpy(lr)[None, None].to(dev).contiguous(memory_format=torch.channels_last)
            with torch.no_grad(), torch.autocast(dev.type, dtype=dt):
                return folded(x)
        out.append(Candidate("PyTorch autocast, channels-last", name, run))
    skipped = ["OpenVINO: a CPU runtime (GPUs run the PyTorch trunk)"]
    try:
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise RuntimeError("this onnxruntime has no CUDAExecutionProvider")
        sess = ort.InferenceSession(onnx_bytes(fold_trunk(up.model.trunk).cpu()), providers=["CUDAExecutionProvider"])
        out.append(Candidate("ONNX Runtime CUDA (host arrays in and out)", "fp32",
                             lambda lr, s=sess: s.run(None, {"lr": lr[None, None]})[0]))
    except Exception as e:
        skipped.append(f"ONNX Runtime CUDA: {type(e).__name__}: {e}")
    return out, skipped


def candidates(up, calib, skip_int8: bool, workdir: Path) -> tuple[list[Candidate], list[str]]:
    """What to race against the engine, and a reason for each runtime left out."""
    from .upscaler import Upscaler

    if up.device.type != "cpu":
        return gpu_candidates(up)
    isa = cpu_isa()
    folded = fold_trunk(up.model.trunk)
    skipped = []
    out = [Candidate(f"engine ({up.backend})", "bf16" if up.bf16 else "fp32", up._padded_features)]
    eager = up.model.trunk

    def torch_direct(lr):
        with torch.no_grad():
            return _padded(eager(torch.from_numpy(lr)[None, None]).numpy())

    out.append(Candidate("PyTorch direct (eager module)", "fp32", torch_direct))
    if up._winograd is None:
        w = Upscaler(up.model, up.info, up.device, bf16=False, runtime="winograd")
        out.append(Candidate("engine Winograd", "fp32", w._padded_features))
    if isa["bf16"] and up.backend != "PyTorch bf16":
        t = Upscaler(up.model, up.info, up.device, bf16=True, runtime="torch")
        out.append(Candidate("PyTorch oneDNN (folded, channels-last)", "bf16", t._padded_features))
    model_bytes = None
    try:
        import onnxruntime as ort

        model_bytes = onnx_bytes(folded)
        so = ort.SessionOptions()
        so.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
        out.append(Candidate("ONNX Runtime", "fp32", lambda lr, s=sess: _padded(s.run(None, {"lr": lr[None, None]})[0])))
    except Exception as e:
        skipped.append(f"ONNX Runtime: {type(e).__name__}: {e}")
    try:
        from .render.openvino_trunk import OpenVINOTrunk

        for prec in ("f32", "bf16") if isa["bf16"] else ("f32",):
            if up.backend == f"OpenVINO {prec}":
                continue
            t = OpenVINOTrunk(folded, prec, background=False, cache=workdir / "ov_cache")
            out.append(Candidate("OpenVINO", t.runs.replace("f32", "fp32"), t))
        if not isa["bf16"]:
            skipped.append("OpenVINO bf16: the CPU has no native bf16 (AMX / AVX512-BF16)")
    except Exception as e:
        skipped.append(f"OpenVINO: {type(e).__name__}: {e}")
    if skip_int8:
        skipped.append("int8: --skip-int8")
    elif model_bytes is None:
        skipped.append("int8: needs ONNX Runtime's quantiser")
    else:
        try:
            q = int8_onnx(model_bytes, calib, workdir)
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = torch.get_num_threads()
            s8 = ort.InferenceSession(str(q), so, providers=["CPUExecutionProvider"])
            out.append(Candidate("ONNX Runtime (static PTQ)", "int8", lambda lr, s=s8: _padded(s.run(None, {"lr": lr[None, None]})[0])))
            try:
                import openvino as ov

                core = ov.Core()
                c8 = core.compile_model(core.read_model(str(q)), "CPU", {"INFERENCE_NUM_THREADS": torch.get_num_threads(),
                                                                          "PERFORMANCE_HINT": "LATENCY"})
                out.append(Candidate("OpenVINO (same int8 model)", "int8",
                                     lambda lr, c=c8: _padded(c.create_infer_request().infer({0: lr[None, None]})[0])))
            except Exception as e:
                skipped.append(f"OpenVINO int8: {type(e).__name__}: {e}")
        except Exception as e:
            skipped.append(f"int8: {type(e).__name__}: {e}")
    return out, skipped


def output_psnr(up, feats: np.ndarray, ref: np.ndarray, lr: np.ndarray, scale: float) -> float:
    """PSNR of the rendered zoom from ``feats`` against the one from ``ref`` (float32)."""
    from .bench import psnr

    a = SliceFeatures(lr.shape, feats.ravel(), lr, 0.0, 1.0, "cpu")
    b = SliceFeatures(lr.shape, ref.ravel(), lr, 0.0, 1.0, "cpu")
    return psnr(up.render(a, scale), up.render(b, scale))


def compare(up, reps: int, skip_int8: bool, workdir: Path) -> list[str]:
    """Race the trunks (CPU) and return Markdown lines; prints as it goes."""
    slices, source = real_slices()
    lrs = [up._normalise(s, None)[0] for s in slices]
    calib, held_out = lrs[:3], lrs[3:]
    print(f"trunk runtimes: preparing (int8 calibrated on 3 {source}, PSNR on {len(held_out)} others)", flush=True)
    cands, skipped = candidates(up, calib, skip_int8, workdir)
    for s in skipped:
        print("  skipped:", s)
    # accuracy: each trunk's render against float32 PyTorch's, x2 and x4, on the held-out slices
    cpu = up.model.trunk if up.device.type == "cpu" else fold_trunk(up.model.trunk).cpu()
    with torch.no_grad():
        refs = [_padded(cpu(torch.from_numpy(lr)[None, None])) for lr in held_out]
    renderer = up if up.device.type == "cpu" else _cpu_renderer(up)
    for c in cands:
        ps = [output_psnr(renderer, _padded(c.run(lr)), ref, lr, s) for lr, ref in zip(held_out, refs) for s in (2.0, 4.0)]
        c.psnr = min(ps)
    lr = held_out[0]
    # the machine's peak, a large GEMM at each precision, raced with the trunks
    if up.device.type == "cpu":
        precisions = {"fp32": torch.float32, **({"bf16": torch.bfloat16} if cpu_isa()["bf16"] else {})}
        n = 2048
    else:
        precisions = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
        n = 8192
    gemms = {k: _gemm(up.device, dt, n) for k, dt in precisions.items()}
    gemm_times = {k: [] for k in gemms}
    for c in cands:  # first calls (shape-specific compiles) off the clock
        c.run(lr)
    for _ in range(reps):  # round-robin: background load hits every runtime alike
        for c in cands:
            c.times.append(_timed(lambda: c.run(lr), up.device))
        for k, g in gemms.items():
            gemm_times[k].append(_timed(g, up.device))
    peaks = {k: 2 * n**3 / (np.median(v) / 1e3) / 1e9 for k, v in gemm_times.items()}
    eng = float(np.median(cands[0].times))
    h, w = lr.shape
    flops = trunk_flops(up.model.trunk, h, w)
    rows = []
    for c in cands:
        p50 = float(np.median(c.times))
        peak = peaks.get(c.precision)
        share = f"{flops / (p50 / 1e3) / 1e9 / peak:.0%}" if peak else "-"
        rows.append((c.name, c.precision, p50, p50 / eng, c.psnr, share))
        print(f"  {c.name:42s} {c.precision:5s} p50 {p50:7.0f} ms  x{p50 / eng:4.2f} of the engine  "
              f"PSNR vs fp32 {c.psnr:5.1f} dB  share of peak {share}", flush=True)
    equal = [r for r in rows[1:] if r[4] >= EQUAL_ACCURACY_DB]
    best = min(equal, key=lambda r: r[2]) if equal else None
    verdict = (f"engine / best other at equal accuracy ({best[0]} {best[1]}): {eng / best[2]:.2f} (target <= 1.0)"
               if best else "no other runtime at equal accuracy")
    peak_txt = "; ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items())
    print(f"  {verdict}\n  measured peak (torch.mm {n}^3, {_threads(up)}): {peak_txt}; "
          f"the trunk is {flops / 1e9:.1f} GFLOP as direct convolutions for {h}x{w}")
    lines = ["### The trunk through each runtime (512x512, interleaved)", "",
             f"Same process, same slice, {reps} rounds round-robin with the GEMMs, {_threads(up)}; the trunk only "
             f"(normalised slice in, features out). PSNR: the x2 and x4 render from each trunk's features against float32 "
             f"PyTorch's, the worse of both on {len(held_out)} {source}"
             + ("; int8 is ONNX Runtime's static post-training quantisation (QDQ, per-channel) calibrated on 3 others, "
                "run by ONNX Runtime and by OpenVINO. " if any(c.precision == "int8" for c in cands) else ". ")
             + f"Share of peak: the trunk's {flops / 1e9:.1f} GFLOP (as direct convolutions) per p50, over the measured "
             f"GEMM peak at that precision (torch.mm {n}^3, timed in the same rounds so it sees the same load: {peak_txt}); "
             "Winograd does fewer multiplies than a direct convolution, so its share can pass 100%.", "",
             "| trunk | precision | p50 ms | x engine | output PSNR vs fp32 dB | share of peak |", "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {p} | {t:.0f} | {r:.2f} | {q:.1f} | {s} |" for n, p, t, r, q, s in rows]
    lines += ["", verdict[0].upper() + verdict[1:] + "."]
    if skipped:
        lines += ["", "Not measured: " + "; ".join(skipped) + "."]
    return lines
