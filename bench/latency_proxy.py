# SPDX-License-Identifier: MIT
"""Starts and stops build/nc-latency-proxy (bench/latency_proxy.cc): a TCP proxy that adds a
round trip and TCP's window, and optionally a link rate shared by all connections, between the
benchmarks' clients and nginx (kernel traffic shaping is not available on these machines)."""
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
# The proxy is bench code, always taken from the main build (NETCACHE= only picks the system
# under test).
PROXY = os.environ.get("NC_LATENCY_PROXY", os.path.join(HERE, "..", "build", "nc-latency-proxy"))


class LatencyProxy:
    def __init__(self, upstream_port, rtt_ms, link_mib_s=None, window_kib=None):
        """window_kib: TCP's window per connection (None: what this machine's TCP allows; 0:
        unbounded, so one connection carries whatever the CPUs can)."""
        self.args = [PROXY, "--upstream-port", str(upstream_port), "--rtt-ms", str(rtt_ms),
                     "--link-mib-s", str(link_mib_s or 0)]
        if window_kib is not None:
            self.args += ["--window-kib", str(window_kib)]
        self.process = None
        self.port = None
        self.window_kib = None

    def start(self):
        if not os.access(PROXY, os.X_OK):
            raise SystemExit(f"{PROXY} is missing: build it first (cmake --build --preset release)")
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        fields = line.split()
        if len(fields) != 2 or not all(field.isdigit() for field in fields):
            self.process.kill()
            raise SystemExit(f"latency proxy did not start: {line!r}")
        self.port, self.window_kib = int(fields[0]), int(fields[1])
        return self

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
