#!/usr/bin/env bash
# The shipped weights (resources/weights/meta_srgan.safetensors and its sidecar) from
# nothing: the six stages of docs/RESULTS.md, each a config in trainer/configs/bundled/.
#   1 pretraining on scikit-image's photographs          stage1_pretrain.toml
#   2 the training scans, square zooms                     stage2_mri.toml
#   3 the same run continued with 30% per-axis zooms       stage3_reformats.toml
#   4 grown by a neck and the aspect input, averaged       stage4_neck.toml
#   5 grown by a second neck layer, running average        stage5_neck2.toml
#   6 a scanner's degradations (k-space, filters, noise)   stage6_realistic.toml (what ships)
# Resumable: rerun the same command after an interruption.
# Usage (from the repository root):
#   bash trainer/configs/train_bundled.sh [OUT]
# OUT defaults to runs/meta_srgan.safetensors; name resources/weights/meta_srgan.safetensors
# to replace the shipped file.
set -euo pipefail
# shared, oversubscribed cores: idle OpenMP threads sleep instead of spinning
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
OUT=${1:-runs/meta_srgan.safetensors}
STAGES=trainer/configs/bundled

train() { $PY -m trainer train --config "$STAGES/$1.toml" "${@:2}"; }
# a stage's last update, as its config says
steps() { $PY -c "from trainer.config import load_config; print(load_config('$STAGES/$1.toml')['steps'])"; }
ckpt() { printf '%s/checkpoints/step_%07d.ckpt.safetensors' "$1" "$2"; }

train stage1_pretrain --resume
train stage2_mri --resume
# the run folder keeps only its last two checkpoints: stage 2's is kept aside for
# docs/RESULTS.md's comparison before stage 3 continues the run
S2=$(ckpt runs/mri "$(steps stage2_mri)")
mkdir -p runs/mri_stage2
if [ -f "$S2" ]; then cp "$S2" "${S2%.safetensors}.json" runs/mri_stage2/; fi
train stage3_reformats --resume
if [ -f runs/mri_grown/checkpoints/last.txt ]; then
  train stage4_neck --resume
else
  train stage4_neck --resume-from "$(ckpt runs/mri "$(steps stage3_reformats)")"
fi
# the stage-4 weights: the mean of its last 8 checkpoints (train.keep = 8, 250 updates apart)
S4=$(steps stage4_neck)
$PY -m trainer average $(for s in $(seq $((S4 - 1750)) 250 "$S4"); do ckpt runs/mri_grown "$s"; echo; done) \
    -o runs/mri_grown/mean.ckpt.safetensors
$PY -m trainer export runs/mri_grown/mean.ckpt.safetensors -o runs/w_stage4.safetensors
train stage5_neck2 --resume
S5=$(ckpt runs/stage5 "$(steps stage5_neck2)")
$PY -m trainer export "$S5" -o runs/w_stage5.safetensors
train stage6_realistic --resume
S6=$(ckpt runs/realistic "$(steps stage6_realistic)")
# held-out scores under every degradation for the sidecar, then the file (the running
# average of the weights)
$PY -m trainer export "$S6" -o runs/w_stage6.safetensors
$PY -m trainer eval --config trainer/configs/realistic.toml --model meta_srgan=runs/w_stage6.safetensors \
    --degradations bicubic,area,kspace,kspace-hamming,kspace-noise --scales 1.1,1.5,2,3,4,4x2.2 -o runs/eval6
$PY -m trainer export "$S6" -o "$OUT" --metrics runs/eval6/results.json \
    --note "Stage 6: the stage-5 weights fine-tuned $(steps stage6_realistic) updates on a scanner's degradations (trainer/configs/realistic.toml: bicubic 35%, box 10%, k-space 55% with a random reconstruction filter, Rician noise in half of the k-space patches at tissue SNR 12-100, slice profiles on thick-slice pairs); shipped: the running average of the weights (decay 0.999). Held-out metrics from metazoom-train eval (engine path)."
