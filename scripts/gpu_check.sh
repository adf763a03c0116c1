#!/usr/bin/env bash
# `make gpu-check`: the GPU check on a machine with no network.  Its stock Python may lack
# pure-Python readers this project needs (nibabel, pydicom): wheels of them placed in
# .gpu/wheels (pip download on a machine with network) are installed beside it first.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
if ! $PY -c "import nibabel, pydicom" 2>/dev/null; then
  if ls .gpu/wheels/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_check_site .gpu/wheels/*.whl || exit 1
    export PYTHONPATH=/tmp/gpu_check_site${PYTHONPATH:+:$PYTHONPATH}
  else
    echo "nibabel/pydicom missing and no wheels in .gpu/wheels" >&2; exit 1
  fi
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
# batch workers are separate processes: none should spin OpenMP threads it does not use
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec $PY scripts/gpu_check.py "$@"
