#!/usr/bin/env bash
# Idempotent set-up of .venv (Python 3.11) with the pinned CPU stack (see README "Install").
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3.11}
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ "$STAMP" -nt scripts/install.sh ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[install] creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip "$@"; }
# pkg_resources (removed in setuptools 82) is needed by mmcv's build, openmim and mmengine's mmdet:: bases.
pip install -q "setuptools>=77,<82" wheel
if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "[install] keeping torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
else
  echo "[install] torch 2.13.0 (CPU wheel)"
  pip install -q "torch==2.13.0"
  pip install -q "setuptools>=77,<82"  # torch may have pulled a newer setuptools
fi
if "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
  echo "[install] keeping mmcv 2.1.0 with ops"
elif pip install -q --only-binary=mmcv "mmcv==2.1.0" 2>/dev/null; then
  echo "[install] mmcv 2.1.0 from a prebuilt wheel"
else
  echo "[install] no prebuilt mmcv 2.1.0 wheel found (PIP_FIND_LINKS=${PIP_FIND_LINKS:-unset})."
  echo "[install] BUILDING mmcv 2.1.0 with compiled ops from source: mmdet 3.3 needs mmcv<2.2 and PyPI has"
  echo "[install] no CPU wheel of it. This takes about 22 minutes on 2 cores; it happens once."
  pip install -q ninja psutil
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} pip install --no-build-isolation "mmcv==2.1.0"
fi
echo "[install] mmengine, mmdet, pycocotools, openmim and mmdet_scalenorm (editable, with tests extra)"
pip install -q "mmengine==0.10.7" "mmdet==3.3.0" pycocotools openmim matplotlib "setuptools>=77,<82"
pip install -q --no-build-isolation -e ".[tests]"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmdet_scalenorm; print('[install] ok: mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"
touch "$STAMP"
