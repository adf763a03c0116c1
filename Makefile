# MetaZoom: `make run` opens the viewer on the bundled sample; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: run test bench gpu-check venv system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel; a loose range would pull CUDA packages
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	# compile the numba kernels once (~40 s; cached on disk) so nothing waits on them later
	$(BIN)/python -m engine.warm || echo "warning: kernels not precompiled; they compile on first use"
	touch $(STAMP)

venv: $(STAMP)

# Debian tools the tests use: Xvfb for the real-window screenshot test, xdotool for the
# key-repeat scrolling test under it, dicom3tools' dciodvfy to validate exported DICOM,
# Qt's xcb dependencies, Orthanc.  Skipped when present.
system-deps:
	@if ! command -v Xvfb >/dev/null || ! command -v dciodvfy >/dev/null || ! command -v xdotool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      xvfb xdotool dicom3tools libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
	      libxcb-shape0 libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3 >/dev/null) \
	    || echo "warning: could not install Xvfb/dicom3tools; the tests that need them will skip"; \
	  else echo "note: Xvfb or dciodvfy missing and apt-get unavailable; those tests will skip"; fi; \
	fi
	@# Orthanc and its DICOMweb plugin: a real PACS for the PACS tests (each test run starts its
	@# own on free loopback ports; the package's system service is not used)
	@if ! command -v Orthanc >/dev/null || [ ! -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq orthanc orthanc-dicomweb >/dev/null) \
	    || echo "warning: could not install Orthanc; the PACS tests will skip"; \
	  else echo "note: Orthanc missing and apt-get unavailable; the PACS tests will skip"; fi; \
	fi

run: $(STAMP)
	$(BIN)/metazoom

test: $(STAMP) system-deps
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m engine.bench

# CUDA parity, engine and training speed on the GPU, then a timed fine-tune (scripts/gpu_check.py;
# a dry run on machines without CUDA).  GPU_CHECK_ARGS passes options, e.g. --train-seconds 240.
gpu-check:
	PY=$$(test -x $(BIN)/python && echo $(BIN)/python || echo python3) bash scripts/gpu_check.sh $(GPU_CHECK_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
