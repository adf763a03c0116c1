#!/usr/bin/env bash
# Do the bicubic-residual start and the scale gate help?  Same data, seed and updates,
# fine-tuning on the training scans from scratch (no pretraining): the paper's plain
# network, + SR = bicubic + residual, + the residual scaled by 1 - 1/r (the shipped one).
# Each run's held-out check lands in runs/ablation_<name>/eval.jsonl (docs/RESULTS.md).
# Usage: bash trainer/configs/ablation_residual.sh [UPDATES]
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
N=${1:-300}
for variant in "plain:residual_bicubic = false, scale_gate = false" \
               "residual:residual_bicubic = true, scale_gate = false" \
               "residual_gate:residual_bicubic = true, scale_gate = true"; do
  name=${variant%%:*}
  args=${variant#*:}
  $PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$N --set out=\"runs/ablation_$name\" \
      --set "model.args={$args}" --set train.eval_every=$N --set train.threads=${THREADS:-1}
done
