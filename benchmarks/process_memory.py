"""Resident memory of the running process (Linux /proc), shared by the benchmark scripts."""
from __future__ import annotations


def rss_mib(field: str = "VmRSS") -> float:
    """This process's current (VmRSS) or peak (VmHWM) resident memory, MiB; NaN where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def reset_peak_rss() -> bool:
    """Start VmHWM again from the current resident size, so earlier phases do not mask growth."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False
