#!/usr/bin/env bash
# Reproduces stages 1-4 of the bundled weights (the file shipped before stage 5; stage 5 and
# any later fine-tune, e.g. trainer/configs/realistic.toml, are the commands in docs/RESULTS.md):
# pretrain on scikit-image's photographs,
# fine-tune on the training scans with square zooms, then continue that run with 30% of
# minibatches zoomed differently per axis (reformats of thick-slice scans), then grow the
# network (a neck before the Meta-Upscale, a fourth weight-network input log(r_y/r_x); both
# start out computing nothing new) and continue again, optimiser state and all.
# Resumable: rerun the same command after an interruption.
# Usage (from the repository root):
#   bash trainer/configs/train_bundled.sh [PRETRAIN_STEPS] [MRI_STEPS] [REFORMAT_STEPS] [GROWN_STEPS]
set -euo pipefail
# shared, oversubscribed cores: idle OpenMP threads sleep instead of spinning
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
PRE=${1:-600}
MRI=${2:-19000}
REF=${3:-6000}
GROW=${4:-9000}
$PY -m trainer train --config trainer/configs/pretrain.toml --resume --set steps=$PRE --set out=\"runs/pretrain\"
INIT=$(printf 'runs/pretrain/checkpoints/step_%07d.ckpt.safetensors' "$PRE")
$PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$MRI --set out=\"runs/mri\" --set model.init=\"$INIT\"
# stage 3: the same run continued (optimiser state and all) with 30% of minibatches zoomed
# differently per axis (where one factor is 1.5x the other or more, the coarse axis is
# slab-averaged): reformats of thick-slice scans.  The stage-2 checkpoint is kept aside
# first (the run folder keeps only its last two) for docs/RESULTS.md's comparison.
MRI_CK=$(printf 'runs/mri/checkpoints/step_%07d.ckpt' "$MRI")
mkdir -p runs/mri_stage2
if [ -f "$MRI_CK.safetensors" ]; then cp "$MRI_CK.safetensors" "$MRI_CK.json" runs/mri_stage2/; fi
$PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$((MRI + REF)) --set out=\"runs/mri\" \
    --set model.init=\"$INIT\" --set data.anisotropic=0.3
# stage 4: the grown network, resumed from stage 3's last checkpoint (docs/RESULTS.md)
GROWN=(--config trainer/configs/mri.toml --set steps=$((MRI + REF + GROW)) --set out=\"runs/mri_grown\"
       --set "model.args={residual_bicubic = true, scale_gate = true, neck = true, aspect_input = true}"
       --set data.anisotropic=0.3 --set train.keep=8)
if [ -f runs/mri_grown/checkpoints/last.txt ]; then
  $PY -m trainer train "${GROWN[@]}" --resume
else
  $PY -m trainer train "${GROWN[@]}" --resume-from "$(printf 'runs/mri/checkpoints/step_%07d.ckpt.safetensors' $((MRI + REF)))"
fi
# the shipped weights: the mean of the last 8 checkpoints (250 updates apart), then export
LAST=$((MRI + REF + GROW))
$PY -m trainer average $(for s in $(seq $((LAST - 1750)) 250 $LAST); do printf 'runs/mri_grown/checkpoints/step_%07d.ckpt.safetensors ' "$s"; done) \
    -o runs/mri_grown/mean.ckpt.safetensors
