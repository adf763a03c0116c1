#!/usr/bin/env bash
# Does the residual-bicubic start help?  Same data, seed and updates, fine-tuning on the
# training scans from scratch (no pretraining), with and without SR = bicubic + residual.
# Usage: bash trainer/configs/ablation_residual.sh [UPDATES]
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
N=${1:-500}
for res in true false; do
  $PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$N --set out=\"runs/ablation_residual_$res\" \
      --set "model.args={residual_bicubic = $res}" --set train.eval_every=$N --set train.threads=${THREADS:-1}
done
