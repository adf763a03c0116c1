#!/usr/bin/env bash
# The perceptual (GAN-trained) weights, resources/weights/meta_srgan_perceptual.safetensors,
# from the shipped fidelity weights:
#   1 the MRI VGG for the perceptual term, self-supervised on the training crops
#     (python -m trainer.mri_vgg; skipped when resources/weights/mri_vgg16.safetensors exists)
#   2 L1 + adversarial + perceptual on the realistic degradation mix   perceptual.toml
#   3 the held-out evaluation beside the fidelity weights, then the export with its metrics
# Resumable: rerun the same command after an interruption.
# Usage (from the repository root):
#   bash trainer/configs/train_perceptual.sh [OUT]
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
OUT=${1:-runs/meta_srgan_perceptual.safetensors}
CONFIG=trainer/configs/perceptual.toml
VGG=resources/weights/mri_vgg16.safetensors

if [ ! -f "$VGG" ]; then
  $PY -m trainer.mri_vgg --config "$CONFIG" -o "$VGG" --steps 4000
fi
$PY -m trainer train --config "$CONFIG" --resume
read -r STEPS ADV PER < <($PY -c "from trainer.config import load_config as l; c = l('$CONFIG'); print(c['steps'], c['loss']['adversarial'], c['loss']['perceptual'])")
LAST=$(printf 'runs/perceptual/checkpoints/step_%07d.ckpt.safetensors' "$STEPS")
$PY -m trainer export "$LAST" -o runs/w_perceptual.safetensors
$PY -m trainer eval --config "$CONFIG" --model fidelity=resources/weights/meta_srgan.safetensors \
    --model perceptual=runs/w_perceptual.safetensors --vgg "$VGG" \
    --degradations bicubic,kspace,kspace-noise --scales 1.5,2,3,4 -o runs/eval_perceptual
$PY -m trainer export "$LAST" -o "$OUT" --metrics runs/eval_perceptual/results.json --metrics-model perceptual \
    --note "Perceptual: the shipped fidelity weights fine-tuned $STEPS updates with L1 + $ADV adversarial + $PER perceptual (features of MetaZoom's self-supervised MRI VGG, resources/weights/mri_vgg16.safetensors) on the realistic degradation mix (trainer/configs/perceptual.toml); shipped: the running average of the weights (decay 0.999). Held-out metrics from metazoom-train eval (engine path)."
