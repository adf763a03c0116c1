#!/usr/bin/env bash
# The x2 baselines with the same tool and recipe as Meta-SRGAN (pretrain on photographs,
# fine-tune on the training scans): SRGAN x2 (the same losses as the bundled Meta-SRGAN: L1; SRGAN_ADV=0.001
# adds the adversarial term) and a
# reduced EDSR x2 (EDSR-baseline: 16 blocks x 64 features, L1; the paper's 32x256 40.7M model
# is far too slow for 2 CPU cores).  Resumable.  Usage: bash trainer/configs/train_baselines.sh [PRE] [MRI]
set -euo pipefail
# shared, oversubscribed cores: idle OpenMP threads sleep instead of spinning
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
PY=${PY:-.venv/bin/python}
PRE=${1:-800}
MRI=${2:-2000}
run() {  # name arch-args adversarial
  local name=$1 arch=$2 args=$3 adv=$4
  $PY -m trainer train --config trainer/configs/pretrain.toml --resume --set steps=$PRE --set out=\"runs/${name}_pretrain\" --set train.threads=${THREADS:-1} \
      --set model.name=\"$arch\" --set "model.args=$args"
  local init
  init=$(printf "runs/${name}_pretrain/checkpoints/step_%07d.ckpt.safetensors" "$PRE")
  $PY -m trainer train --config trainer/configs/mri.toml --resume --set steps=$MRI --set out=\"runs/${name}\" \
      --set model.name=\"$arch\" --set "model.args=$args" --set model.init=\"$init\" --set loss.adversarial=$adv \
      --set train.threads=${THREADS:-1}
}
run srgan_x2 srgan "{scale = 2}" "${SRGAN_ADV:-0.0}"
run edsr_x2 edsr "{scale = 2, channels = 64, blocks = 16, res_scale = 1.0}" 0.0
