"""Peak memory of a block of work: a sampling thread reads the resident set size every few
milliseconds, and the kernel's high-water mark is used when it grew during the block (then it is
exact)."""

from __future__ import annotations

import resource
import threading
from dataclasses import dataclass

import psutil


@dataclass
class PeakMemory:
    peak_mib: float = 0.0
    peak_percentage: float = 0.0


class PeakMemoryMonitor:
    def __init__(self, interval_seconds: float = 0.02):
        self._interval = interval_seconds
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._peak_bytes = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.result = PeakMemory()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._peak_bytes = max(self._peak_bytes, self._process.memory_info().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemoryMonitor:
        self._high_water_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        peak = self._peak_bytes
        if high_water > self._high_water_before:
            peak = max(peak, high_water)
        self.result = PeakMemory(
            peak_mib=peak / 1024**2,
            peak_percentage=100.0 * peak / psutil.virtual_memory().total,
        )
