"""What every benchmark reports: the machine, and medians/p90 over runs."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from her_desktop import __version__


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, object]:
    info: dict[str, object] = {
        "her_desktop": __version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
    }
    try:
        import llama_cpp

        info["llama_cpp_python"] = llama_cpp.__version__
        info["gpu_offload_supported"] = bool(llama_cpp.llama_supports_gpu_offload())
    except Exception as exc:  # the bench still reports the rest
        info["llama_cpp_python"] = f"unavailable: {exc}"
    return info


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of the finite values; NaN if none."""
    data = sorted(v for v in values if math.isfinite(v))
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summarize(samples: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Median, p90, min and max of each metric over the runs."""
    keys = list(dict.fromkeys(key for sample in samples for key in sample))
    out: dict[str, dict[str, float]] = {}
    for key in keys:
        values = [s[key] for s in samples if key in s and math.isfinite(s[key])]
        out[key] = {
            "median": statistics.median(values) if values else float("nan"),
            "p90": percentile(values, 90),
            "min": min(values) if values else float("nan"),
            "max": max(values) if values else float("nan"),
        }
    return out


def write_report(
    report: dict[str, Any], out: Path | None, *, default: Callable[[Any], Any] = str
) -> None:
    """The bench's JSON: to ``out`` (folders made, "wrote …" on stderr) or to stdout."""
    text = json.dumps(report, indent=2, default=default)
    if out is None:
        print(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
