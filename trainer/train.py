"""The training loop: BasicSR's SRGAN recipe around the engine's networks.

One update: the generator's terms (L1 + adversarial + perceptual, each weighted)
with D frozen, then D on real HR and the detached SR.  Adam for both, learning rate
x0.8 every 60k updates.  Minibatches come from ``PatchBatches`` (a pure function of
seed and step); checkpoints hold everything needed to continue bit for bit.
Multi-process through ``torchrun`` (DDP; gloo on CPU, NCCL on GPU): every rank cuts
its shard out of the same global minibatch.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

from engine import networks
from engine.networks.meta_srgan import grown_from
from engine.render.torch_upscale import bicubic_torch
from engine.upscaler import cpu_has_bf16
from engine.weights import load_weights

from . import checkpoint as ckpt
from .data.dataset import Crops, PatchBatches, load_crops
from .data.prefetch import PrefetchedSteps, StepShards
from .data.scales import TRAIN_SCALES, is_pair, parse_scale_key, scale_key
from .discriminator import Discriminator
from .ema import WeightAverage
from .evaluate import ModelPredictor, bicubic_predict, score
from .export import is_weights_file, weights_stages
from .fast_upscale import upscale
from .log import RunLog
from .losses import AdversarialLoss, L1Loss, PerceptualLoss, adversarial_d_half
from .run_config import RunConfig
from .vgg import load_vgg


def is_meta(model) -> bool:
    return getattr(model, "registry_name", None) == "meta_srgan"


class SRForward(nn.Module):
    """The generator's training forward as one module (so DDP can wrap it):
    normalised LR -> SR in unit range.  bf16 autocast covers the trunk only; the
    Meta-Upscale and the bicubic residual stay float32."""

    def __init__(self, G: nn.Module, mean: float, std: float, bf16: bool):
        super().__init__()
        self.G, self.mean, self.std, self.bf16 = G, mean, std, bf16

    def forward(self, lr: torch.Tensor, scale: float) -> torch.Tensor:
        dev = lr.device.type
        if is_meta(self.G):
            with torch.autocast(dev, dtype=torch.bfloat16, enabled=self.bf16):
                feats = self.G.features(lr)
            out = upscale(self.G, lr, scale, feats=feats.float())
        else:
            with torch.autocast(dev, dtype=torch.bfloat16, enabled=self.bf16):
                out = self.G(lr).float()
        return out * self.std + self.mean


def want_bf16(setting: bool | str, device: torch.device) -> bool:
    """``train.bf16``: true, false, or "auto" (CUDA, and CPUs with native bf16)."""
    if isinstance(setting, bool):
        return setting
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())


def init_generator(spec: dict, init: str) -> tuple[nn.Module, dict | None]:
    """A fresh generator, or one started from a weights file / checkpoint (a checkpoint's
    running average of the weights when it has one, as export would ship)."""
    G = networks.make(spec)
    norm = None
    if init:
        p = Path(init)
        if p.name.endswith(".ckpt.safetensors"):
            state, meta = ckpt.generator_state(p)
            G.load_state_dict(ckpt.fit_generator(G, state))
            norm = {**meta.get("normalization", {}), "weights_taken": meta["weights_taken"]}
        else:
            model, info = load_weights(p, warn_untrained=False)
            if info.arch != spec and not grown_from(info.arch, spec):
                raise ValueError(f"{p} holds {info.arch}, the config asks for {spec}")
            G.load_state_dict(ckpt.fit_generator(G, model.state_dict()))
            norm = {"mean": info.normalization["mean"], "std": info.normalization["std"]}
    return G, norm


def batch_workers(setting: int | str, device: torch.device) -> int:
    """How many processes make minibatches ahead (``train.workers``)."""
    if setting == "auto":
        return min(8, max(1, (os.cpu_count() or 2) - 2)) if device.type == "cuda" else 0
    return int(setting)


class Trainer:
    """One training run of ``config``: the networks, their optimisers, the minibatches
    and the loop.  ``resume``: a checkpoint to continue from (``checkpoint.last_checkpoint``
    finds the run folder's own); its metadata decide the normalisation and the lineage
    before anything is built from them, then its tensors and step are restored."""

    def __init__(self, config: RunConfig, *, rank: int = 0, world: int = 1, device: torch.device | None = None,
                 crops: Crops | None = None, test_crops: Crops | None = None, quiet: bool = False, resume=None):
        if not isinstance(config, RunConfig):
            raise TypeError(f"Trainer takes a RunConfig (trainer.run_config.parse_config), got {type(config).__name__}")
        self.config, self.rank, self.world = config, rank, world
        self.device = device or torch.device("cpu")
        self.main = rank == 0
        self.quiet = quiet
        data, model, train = config.data, config.model, config.train
        if train.threads:
            torch.set_num_threads(train.threads)
        torch.manual_seed(config.seed)
        self.out = Path(config.out)
        resume = Path(resume) if resume is not None else None
        saved = ckpt.read_meta(resume) if resume is not None else None
        # this run's own checkpoint continues it; another run's starts this run's own stage
        own = resume is not None and resume.resolve().parent == (self.out / "checkpoints").resolve()

        self.crops = crops if crops is not None else load_crops(data.train, data.root, data.crop, data.min_foreground)
        self.test_crops = test_crops if test_crops is not None else (
            load_crops(data.test, data.root, data.crop, data.min_foreground) if data.test else Crops())

        self.G, init_norm = init_generator(model.spec, model.init)
        # the weights file a run starts from, as it was when the run started (its sha256
        # and stages): the file may be replaced before export (a site's retraining written over it)
        self.init_weights = (saved.get("init_weights") if own else None) or (
            weights_stages(model.init) if is_weights_file(model.init) else None)
        # a checkpoint to start from: which of its weights (trained, or their running average)
        self.init_taken = (init_norm or {}).get("weights_taken")
        # a resumed run goes on with the normalisation it was trained with ("init" would
        # read the starting file again, which may have been replaced since)
        self.mean, self.std = self._normalization(init_norm, saved.get("normalization") if own else None)
        self.bf16 = want_bf16(train.bf16, self.device)
        self.G.to(self.device)
        self.ema = WeightAverage(self.G, train.ema) if train.ema else None
        self.fixed_scale = None if is_meta(self.G) else float(getattr(self.G, "scale", 2))
        scales = data.scales or ([self.fixed_scale] if self.fixed_scale else TRAIN_SCALES)
        self.batches = PatchBatches(self.crops, batch=data.batch, mean=self.mean, std=self.std, scales=scales,
                                    patches_per_image=data.patches_per_image, max_hr=data.max_hr, seed=config.seed,
                                    augment=data.augment, anisotropic=data.anisotropic if self.fixed_scale is None else 0.0,
                                    degradations=data.degrade)
        if self.fixed_scale is not None and data.anisotropic:
            print(f"data.anisotropic ignored: {model.name} is a fixed x{self.fixed_scale:g} network")

        # the order in which networks are built is the order they draw from the seeded RNG
        self.l1_loss, self.adversarial_loss, self.perceptual_loss, self.D = self._losses(config.loss)
        self.opt_g, self.sched_g, self.opt_d, self.sched_d = self._optimisers(config.optim)
        self.fwd = SRForward(self.G, self.mean, self.std, self.bf16)
        self.fwd_ddp, self.D_ddp = self._distributed()
        self.step = 0
        self.resumed_from = None
        self.best = {"score": -math.inf, "step": -1}
        self.record_grads = False
        self.last_grads: dict | None = None
        self._stream: PrefetchedSteps | None = None
        if resume is not None:
            ckpt.load_checkpoint(resume, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d, sched_g=self.sched_g,
                                 sched_d=self.sched_d, ema=self.ema)
            self.resumed_from = saved.get("resumed_from") if own else str(resume)
            self.step = int(saved["step"])
            self.best = saved.get("best", self.best)

    def _losses(self, L) -> tuple:
        """The generator's loss terms (a term weighted 0 is off) and, with the adversarial
        term, the discriminator."""
        adversarial = AdversarialLoss(L.adversarial) if L.adversarial > 0 else None
        perceptual = PerceptualLoss(load_vgg(L.vgg_weights), L.perceptual).to(self.device) if L.perceptual > 0 else None
        D = Discriminator(1, L.d_channels).to(self.device) if adversarial is not None else None
        return L1Loss(L.l1, L.l1_relative), adversarial, perceptual, D

    def _optimisers(self, o) -> tuple:
        """Adam and its step decay for G, and for D when there is one."""
        opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr, betas=o.betas)
        sched_g = torch.optim.lr_scheduler.StepLR(opt_g, o.decay_every, o.decay)
        if self.D is None:
            return opt_g, sched_g, None, None
        opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=o.betas)
        return opt_g, sched_g, opt_d, torch.optim.lr_scheduler.StepLR(opt_d, o.decay_every, o.decay)

    def _distributed(self) -> tuple:
        """The forward and D as the update calls them: wrapped in DDP when several processes train."""
        if self.world == 1:
            return self.fwd, self.D
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DDP(self.fwd, device_ids=ids), (DDP(self.D, device_ids=ids) if self.D is not None else None)

    def _normalization(self, init_norm: dict | None, saved: dict | None) -> tuple[float, float]:
        """(mean, std) of the network's input: a resumed run's own, else ``data.normalization``'s."""
        if saved:
            return float(saved["mean"]), float(saved["std"])
        norm = self.config.data.normalization
        if norm == "auto":
            mean, std = self.crops.stats()
        elif norm == "init":
            if init_norm is None:
                raise ValueError("data.normalization = 'init' needs model.init")
            mean, std = init_norm["mean"], init_norm["std"]
        else:
            mean, std = norm
        return float(mean), float(std)

    # -- one update -----------------------------------------------------------
    def _shards(self, step: int):
        acc = self.config.train.accumulate
        shards = self._stream.take(step) if self._stream is not None else None
        if shards is None:
            shards = StepShards(self.batches, acc, self.rank, self.world).at(step)
        for lr, hr, r in shards:
            yield lr.to(self.device, non_blocking=True), hr.to(self.device, non_blocking=True), r, acc

    def update(self, step: int) -> dict:
        self.G.train()
        terms = {"l1": 0.0, "adv": 0.0, "per": 0.0, "g": 0.0, "d": 0.0}
        self.opt_g.zero_grad(set_to_none=True)
        if self.D is not None:
            self.D.train()
            self.opt_d.zero_grad(set_to_none=True)
            for p in self.D.parameters():
                p.requires_grad_(False)
        fakes = []
        for lr, hr, r, acc in self._shards(step):
            sr = self.fwd_ddp(lr, r)
            bicubic = None
            if self.l1_loss.needs_bicubic:
                with torch.no_grad():
                    bicubic = bicubic_torch(lr.float(), tuple(hr.shape[-2:])) * self.std + self.mean
            l1 = self.l1_loss(sr, hr, r, bicubic)
            loss = l1.weighted
            terms["l1"] += l1.value.item() / acc
            if self.D is not None:
                # D is frozen here and used unwrapped: only the generator's gradients sync
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    adv = self.adversarial_loss(self.D((sr - self.mean) / self.std).float())
                loss = loss + adv.weighted
                terms["adv"] += adv.value.item() / acc
            if self.perceptual_loss is not None:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    per = self.perceptual_loss(sr, hr)
                loss = loss + per.weighted
                terms["per"] += per.value.item() / acc
            (loss / acc).backward()
            terms["g"] += loss.item() / acc
            fakes.append((sr.detach(), hr))
        if self.record_grads:
            self.last_grads = {k: p.grad.detach().clone() for k, p in self.G.named_parameters() if p.grad is not None}
        self.opt_g.step()
        self.sched_g.step()
        if self.ema is not None:
            self.ema.update(self.G)
        if self.D is not None:
            for p in self.D.parameters():
                p.requires_grad_(True)
            # real and fake each get their own forward and backward (BasicSR's order),
            # which is also what DDP needs: one forward per backward
            for sr, hr in fakes:
                for img, real in ((hr, True), (sr, False)):
                    with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                        logits = self.D_ddp((img - self.mean) / self.std).float()
                    ld = adversarial_d_half(logits, real)
                    (ld / len(fakes)).backward()
                    terms["d"] += ld.item() / len(fakes)
            self.opt_d.step()
            self.sched_d.step()
        if self.world > 1:  # log the global minibatch's losses, not rank 0's shard
            keys = ["l1", "adv", "per", "g", "d"]
            t = torch.tensor([terms[k] for k in keys], dtype=torch.float64, device=self.device)
            dist.all_reduce(t)
            terms.update({k: float(v) / self.world for k, v in zip(keys, t.tolist())})
        terms["scale"] = scale_key(r)
        return terms

    # -- evaluation during training ---------------------------------------------
    def quick_eval(self) -> dict:
        """Mean held-out PSNR/SSIM of the generator (its running average when the run
        keeps one: what export ships) and of bicubic per scale."""
        if len(self.test_crops) == 0:
            return {}
        scales = list(self.config.train.eval_scales) if self.fixed_scale is None else [self.fixed_scale]
        G = self.ema.model if self.ema is not None else self.G
        pred = ModelPredictor(G, self.mean, self.std, self.bf16, self.fixed_scale)
        res = {}
        for deg in self.config.train.eval_degradations:
            # the paper's bicubic keeps its old keys ("2"); others are "kspace-noise@2"
            tag = "" if deg == "bicubic" else f"{deg}@"
            model = score(pred, self.test_crops.images, scales, deg)
            bic = score(bicubic_predict, self.test_crops.images, list(model), deg)
            for r in model:
                m, b = model[r].summary(), bic[r].summary()
                res[tag + scale_key(r)] = {"psnr": m["psnr_mean"], "ssim": m["ssim_mean"], "bicubic_psnr": b["psnr_mean"], "bicubic_ssim": b["ssim_mean"]}
        self.G.train()
        # one number to pick the best checkpoint: the worst PSNR gain over the square
        # zooms (the pairs get their own, so a run without them keeps its old yardstick)
        gains = {k: v["psnr"] - v["bicubic_psnr"] for k, v in res.items()}
        pairs = {k for k in gains if is_pair(parse_scale_key(k.rsplit("@", 1)[-1]))}
        square = [g for k, g in gains.items() if k not in pairs]
        res["score"] = min(square or gains.values())
        if pairs:
            res["score_pairs"] = min(gains[k] for k in pairs)
        return res

    # -- checkpoints --------------------------------------------------------------
    def meta(self) -> dict:
        tree = self.config.tree()
        return {
            "config": tree,
            "normalization": {"mean": self.mean, "std": self.std},
            "arch": self.config.model.spec,
            "train_crops": len(self.crops),
            "data": tree["data"]["train"],
            "best": self.best,
            "world": self.world,
            **({"init_weights": self.init_weights} if self.init_weights else {}),
            **({"init_weights_taken": self.init_taken} if self.init_taken else {}),
            **({"resumed_from": self.resumed_from} if self.resumed_from else {}),
        }

    def save(self, name: str | None = None) -> Path:
        path = self.out / "checkpoints" / (name or f"step_{self.step:07d}.ckpt.safetensors")
        ckpt.save_checkpoint(path, step=self.step, G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d,
                             sched_g=self.sched_g, sched_d=self.sched_d, meta=self.meta(), ema=self.ema)
        if name is None:
            (self.out / "checkpoints" / "last.txt").write_text(path.name)
            kept = sorted(p for p in path.parent.glob("step_*.ckpt.safetensors"))
            for old in kept[: -self.config.train.keep]:
                old.unlink(missing_ok=True)
                ckpt.sidecar(old).unlink(missing_ok=True)
        return path

    # -- the loop ----------------------------------------------------------------
    def run(self, steps: int | None = None, seconds: float | None = None) -> dict:
        """Train up to update ``steps`` (the config's by default), or until ``seconds``
        have passed (a timed run on borrowed hardware; the caller saves what it reached)."""
        steps = int(self.config.steps if steps is None else steps)
        t = self.config.train
        log = RunLog(self.out, enabled=self.main and not self.quiet)
        log.truncate(self.step)
        bar = None
        if self.main and t.progress and not self.quiet:
            from tqdm import tqdm

            bar = tqdm(total=steps, initial=self.step, unit="step", dynamic_ncols=True, mininterval=2.0)
        last = {}
        workers = batch_workers(t.workers, self.device)
        if workers > 0 and self.step < steps:
            shards = StepShards(self.batches, t.accumulate, self.rank, self.world)
            self._stream = PrefetchedSteps(shards, self.step, steps, workers, pin=self.device.type == "cuda")
        t0, s0 = time.perf_counter(), self.step
        while self.step < steps and (seconds is None or time.perf_counter() - t0 < seconds):
            last = self.update(self.step)
            self.step += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(l1=f"{last['l1']:.4f}", adv=f"{last['adv']:.3f}", per=f"{last['per']:.3f}", d=f"{last['d']:.3f}", x=last["scale"], refresh=False)
            if self.main and (self.step % t.log_every == 0 or self.step == steps):
                el = time.perf_counter() - t0
                log.row({"step": self.step, "lr": self.opt_g.param_groups[0]["lr"], **last, "steps_per_s": (self.step - s0) / max(el, 1e-9), "elapsed_s": el})
            if self.step % t.eval_every == 0 or self.step == steps:
                if self.main and len(self.test_crops):
                    res = self.quick_eval()
                    log.eval_row(self.step, res)
                    if res and res["score"] > self.best["score"]:
                        self.best = {"score": res["score"], "step": self.step, "eval": res}
                        path = self.save("best.ckpt.safetensors")
                        if bar is not None:
                            bar.write(f"step {self.step}: new best (worst PSNR gain over bicubic {res['score']:+.3f} dB) -> {path}")
            if self.main and (self.step % t.ckpt_every == 0 or self.step == steps):
                self.save()
                log.plot()
        if bar is not None:
            bar.close()
        self._stream = None
        return last
