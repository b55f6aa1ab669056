#!/usr/bin/env bash
# One-command install of the OpenMMLab stack on current torch (called by `make install`).
#
# Why this script exists: mmcv has no wheels for torch > 2.4 on any reachable index, its setup.py
# imports pkg_resources (gone in setuptools >= 81) and, under pip's build isolation, silently builds
# WITHOUT its compiled ops. So mmcv 2.1.0 is compiled here from the PyPI sdist with
# MMCV_WITH_OPS=1 and --no-build-isolation, and the built wheel is cached per (python, torch, cuda)
# so that the second install takes seconds.
#
# Environment knobs:
#   VENV=.venv            where the virtual environment goes; VENV=none installs into the active python
#   PYTHON=python3        interpreter used to create the venv (3.10+)
#   TORCH_VERSION=2.13.0  torch pin (exists as CPU build on local disk here and on PyPI with CUDA)
#   FP_WHEEL_CACHE=~/.cache/fashionpedia-plugin/wheels   where built mmcv wheels are kept
#   FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST="8.0;9.0", MAX_JOBS=N   honoured by the mmcv build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
MMCV_VERSION="2.1.0"        # mmdet 3.3.0 asserts 2.0.0rc4 <= mmcv < 2.2.0
MMDET_VERSION="3.3.0"
MMENGINE_VERSION="0.10.7"
FP_WHEEL_CACHE="${FP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fashionpedia-plugin/wheels}"

say() { printf '\033[1m[install]\033[0m %s\n' "$*"; }

if [ "$VENV" != "none" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
  fi
  PY="$ROOT/$VENV/bin/python"
  [ -x "$PY" ] || PY="$VENV/bin/python"
else
  PY="$(command -v "$PYTHON")"
  say "VENV=none: installing into $PY"
fi
PIP=("$PY" -m pip --disable-pip-version-check)

"$PY" - <<'PYEOF'
import sys
if sys.version_info < (3, 10):
    sys.exit(f'[install] Python >= 3.10 is required, found {sys.version.split()[0]}')
PYEOF

# Build tools first: setuptools < 81 still ships pkg_resources, which mmcv's setup.py and
# mmengine's `mmdet::` config scope import.
"${PIP[@]}" install -q --upgrade "pip>=23" "setuptools>=64,<81" wheel ninja

have_torch=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null || true)
if [ "$have_torch" != "$TORCH_VERSION" ]; then
  say "installing torch==$TORCH_VERSION"
  "${PIP[@]}" install "torch==$TORCH_VERSION"
fi

# The cache key: python tag, torch version and whether CUDA ops are compiled in.
read -r PYTAG TORCH_TAG CUDA_TAG < <("$PY" - <<'PYEOF'
import os, sys, torch
cuda = torch.version.cuda if (torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1') \
    and torch.version.cuda else 'cpu'
arch = os.environ.get('TORCH_CUDA_ARCH_LIST', '').replace(';', '_').replace(' ', '_').replace('+', 'p')
print(f'cp{sys.version_info.major}{sys.version_info.minor}', torch.__version__.replace('+', '_'),
      'cpu' if cuda == 'cpu' else f'cu{cuda}' + (f'-{arch}' if arch else ''))
PYEOF
)
CACHE_DIR="$FP_WHEEL_CACHE/mmcv-$MMCV_VERSION/$PYTAG-torch$TORCH_TAG-$CUDA_TAG"
mkdir -p "$CACHE_DIR"

mmcv_ok() {
  "$PY" -c "import mmcv, mmcv.ops, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null
}

if mmcv_ok; then
  say "mmcv $MMCV_VERSION with ops already installed"
else
  wheel=$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    jobs="${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}"
    say "building mmcv $MMCV_VERSION from source with compiled ops ($CUDA_TAG, $jobs jobs)."
    say "This takes ~9 minutes on 2 cores with ninja (14.5 min without, docs/install.md); it runs once,"
    say "the wheel is cached in $CACHE_DIR"
    build_log="$CACHE_DIR/build.log"
    tmp=$(mktemp -d)
    # MMCV_WITH_OPS=1 + --no-build-isolation: otherwise the sdist builds without mmcv._ext.
    ( export MMCV_WITH_OPS=1 MAX_JOBS="$jobs"
      "${PIP[@]}" wheel -v --no-build-isolation --no-deps --no-binary mmcv -w "$tmp" \
        "mmcv==$MMCV_VERSION" ) > "$build_log" 2>&1 &
    pid=$!
    start=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
      sleep 30
      n=$(grep -cE '(\[[0-9]+/[0-9]+\]|^gcc|^g\+\+|^c\+\+)' "$build_log" 2>/dev/null || true)
      last=$(grep -oE '\[[0-9]+/[0-9]+\]' "$build_log" 2>/dev/null | tail -1 || true)
      say "  mmcv build: $(( ($(date +%s) - start) / 60 )) min elapsed, ${last:-$n compile steps} (log: $build_log)"
    done
    if ! wait "$pid"; then
      tail -40 "$build_log"
      echo "[install] ERROR: mmcv build failed; full log in $build_log" >&2
      exit 1
    fi
    mv "$tmp"/mmcv-"$MMCV_VERSION"-*.whl "$CACHE_DIR"/
    rm -rf "$tmp"
    wheel=$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -1)
    say "mmcv built in $(( ($(date +%s) - start) / 60 )) min: $wheel"
  else
    say "using cached mmcv wheel $wheel"
  fi
  "${PIP[@]}" install -q "$wheel" > /dev/null
fi

# pip's own output and the build warnings of the editable install (~40 setuptools lines) go to
# a log; it is shown only when the step fails.
INSTALL_LOG="${FP_INSTALL_LOG:-$FP_WHEEL_CACHE/install.log}"
say "installing mmengine $MMENGINE_VERSION, mmdet $MMDET_VERSION and this plugin (editable, dev extras; log: $INSTALL_LOG)"
if ! "${PIP[@]}" install -q --no-build-isolation "mmengine==$MMENGINE_VERSION" \
    "mmdet==$MMDET_VERSION" -e ".[dev]" > "$INSTALL_LOG" 2>&1; then
  tail -40 "$INSTALL_LOG"
  echo "[install] ERROR: pip install failed; full log in $INSTALL_LOG" >&2
  exit 1
fi

# Self-check: fails loudly if mmcv lacks its compiled ops.
"$PY" -m fashionpedia_plugin.toolkit.selfcheck
