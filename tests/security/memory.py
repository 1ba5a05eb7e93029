"""This process's peak resident memory, read from /proc (no psutil)."""
from __future__ import annotations

import re


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"^{field}:\s+(\d+) kB", fh.read(), re.M).group(1)) * 1024


def reset_peak() -> int:
    """Resets the peak to the current resident size (Linux ≥ 4.0) and returns that size."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status("VmRSS")


def peak() -> int:
    return _status("VmHWM")
