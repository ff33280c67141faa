#!/usr/bin/env bash
# On a machine with a CUDA GPU: the tests that need one, then `make bench`'s gpu group, in one go.
#
#   bash scripts/gpu-figures.sh OUT_DIR
#
# Runs from a checkout with the machine's own Python (torch, onnxruntime, OpenCV installed; the app's
# Qt packages are not needed). Wheels of missing packages in .whl/ are installed to a private folder
# first. Writes gpu-tests.log, gpu.json (the figures) and gpu.log (the same as a table) to OUT_DIR.
set -u
out=${1:?usage: bash scripts/gpu-figures.sh OUT_DIR}
mkdir -p "$out"
python=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/cvstudio-site .whl/*.whl
    export PYTHONPATH="/tmp/cvstudio-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
missing=$("$python" -c '
import importlib.util
needed = {"torch": "torch", "onnxruntime": "onnxruntime", "onnx": "onnx", "onnxscript": "onnxscript",
          "cv2": "opencv-python-headless", "numpy": "numpy", "pluggy": "pluggy", "platformdirs": "platformdirs",
          "psutil": "psutil", "sklearn": "scikit-learn", "skimage": "scikit-image", "packaging": "packaging",
          "pytest": "pytest"}
print(" ".join(wheel for name, wheel in needed.items() if importlib.util.find_spec(name) is None))')
if [ -n "$missing" ]; then
    echo "missing Python packages: $missing; put their wheels in .whl/ (pip download --no-deps NAME -d .whl)" >&2
    exit 2
fi
nvidia-smi -L 2>&1 | tee "$out/gpu-tests.log"
"$python" -c 'import torch, onnxruntime as ort; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "| onnxruntime", ort.__version__, ort.get_available_providers())' 2>&1 | tee -a "$out/gpu-tests.log"
"$python" -m pytest -q -p no:cacheprovider -p no:xvfb -k "cuda or gpu" \
    tests/core/test_training.py tests/core/test_hardware.py tests/core/test_inference.py tests/test_course_claims.py \
    2>&1 | tee -a "$out/gpu-tests.log"
"$python" benchmarks/run.py --only gpu --repeat "${PAIRS:-3}" >"$out/gpu.json" 2>"$out/gpu.log"
status=$?
cat "$out/gpu.log"
exit $status
