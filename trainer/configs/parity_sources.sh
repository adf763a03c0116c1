#!/usr/bin/env bash
# Where does Meta-SRGAN's x2 gap to SRGAN x2 come from?  Same data, seed and recipe as the
# parity runs of docs/RESULTS.md (from scratch, L1, bicubic residual + scale gate):
#   x2only      Meta-SRGAN trained at x2 only: the gap left is the upscaler's, not sharing scales
#   x2_neck     the same with a neck (conv 3x3 + PReLU before the Meta-Upscale)
#   all_neck    the neck, every scale (the product's case)
# Each run's held-out checks land in runs/parity_<name>/eval.jsonl.
# Usage: bash trainer/configs/parity_sources.sh [UPDATES]
set -euo pipefail
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
N=${1:-2000}
run() {
  local name=$1 args=$2
  shift 2
  $PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$N --set out=\"runs/parity_$name\" \
      --set "model.args={$args}" --set train.eval_every=500 --set train.threads=${THREADS:-1} "$@"
}
run x2only "residual_bicubic = true, scale_gate = true" --set "data.scales=[2.0]" --set "train.eval_scales=[2.0]"
run x2_neck "residual_bicubic = true, scale_gate = true, neck = true" --set "data.scales=[2.0]" --set "train.eval_scales=[2.0]"
run all_neck "residual_bicubic = true, scale_gate = true, neck = true" --set "train.eval_scales=[1.1, 1.5, 2.0, 3.0, 4.0]"
