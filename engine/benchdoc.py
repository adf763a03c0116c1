"""Benchmarks write their results into one Markdown file, each into its own section,
so re-running one benchmark never clobbers another's numbers."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = "# MetaZoom benchmarks\n\nEach section is written by the script it names; re-run it to refresh it.\n"


def machine() -> str:
    """One line describing the machine the numbers come from, with its load: the
    machine is shared, and other work on it slows every timing."""
    import torch

    cpu = platform.processor() or platform.machine() or "?"
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    for line in info.splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    have = set(info.split())
    isa = [name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16"), ("avx512f", "AVX-512"),
                                   ("avx512_vnni", "AVX512-VNNI"), ("avx_vnni", "AVX-VNNI"), ("avx2", "AVX2")) if flag in have]
    flags = (", " + " ".join(isa)) if isa else ""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    try:
        load = f"; load average {os.getloadavg()[0]:.1f} when measured"
    except (AttributeError, OSError):  # not on this platform
        load = ""
    return f"{cpu} ({os.cpu_count()} cores{flags}), {gpu}, Python {platform.python_version()}, torch {torch.__version__}{load}"


def write_section(name: str, body: str, path: Path = DOC) -> Path:
    """Replace (or append) the section ``name`` of the benchmarks document (atomically:
    an interrupted benchmark never leaves a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
