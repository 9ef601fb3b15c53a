"""Monitoring a served version from its prediction log: windows, drift, quality, latency, errors, volume.

``monitor(ref, log)`` returns a :class:`MonitorReport`; ``mlgate monitor`` renders it. See docs/monitoring.md.
"""

from __future__ import annotations

from mlgate.monitor.report import Limits, MonitorReport, WindowResult
from mlgate.monitor.run import monitor, parse_period

__all__ = ["Limits", "MonitorReport", "WindowResult", "monitor", "parse_period"]
