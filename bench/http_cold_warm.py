#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: the HTTP origin's cold and warm sequential read against the baselines of the same run.

Starts a private nginx on 127.0.0.1 serving a generated file (1 GiB by default), then measures:
  curl      curl -o /dev/null from nginx (the network limit for cold reads)
  cold      dd through a fresh netcache mount (from the origin, copied into the cache)
  warm      dd through a new mount over the same cache (kernel page cache dropped)
  disk      dd of the cache's own data file (page cache dropped): the physical limit for warm
and prints a markdown table and JSON with throughputs, ratios, daemon CPU seconds and peak RSS.
Usage: bench/http_cold_warm.py [--size-mib N] [--json FILE] (as root; build/netcache must exist)
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from nginx import Nginx  # noqa: E402

NETCACHE = os.path.join(HERE, "..", "build", "netcache")


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def timed_read(path):
    start = time.monotonic()
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M"], check=True, capture_output=True)
    return time.monotonic() - start


def daemon_usage(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) * 1024
    return cpu, rss


def netcache(*args):
    return subprocess.run([NETCACHE, *args], check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="nc-bench-")
    root, mnt, cache = (os.path.join(work, d) for d in ("root", "mnt", "cache"))
    for d in (root, mnt):
        os.makedirs(d)
    size = args.size_mib * 1024 * 1024
    with open(os.path.join(root, "big"), "wb") as f:
        chunk = os.urandom(16 * 1024 * 1024)
        for _ in range(size // len(chunk)):
            f.write(chunk)
    nginx = Nginx(root, work).start()
    results = {}
    try:
        dropped = drop_caches()
        # Warm nginx's own page cache for the file, so the origin side is not disk-bound.
        subprocess.run(["cat", os.path.join(root, "big")], stdout=subprocess.DEVNULL, check=True)
        start = time.monotonic()
        subprocess.run(["curl", "-s", "-o", "/dev/null", nginx.url + "big"], check=True)
        results["curl"] = {"seconds": time.monotonic() - start}

        def read_through_mount(counter):
            """Mounts, reads the file once, unmounts; the timing and the daemon's usage."""
            netcache("mount", nginx.url, mnt, "--cache-dir", cache)
            pid = json.loads(netcache("stat", mnt, "--json"))["pid"]
            seconds = timed_read(os.path.join(mnt, "big"))
            cpu, rss = daemon_usage(pid)
            stats = json.loads(netcache("stat", mnt, "--json"))
            netcache("umount", mnt)
            return {"seconds": seconds, "daemon_cpu_s": cpu, "daemon_peak_rss": rss, counter: stats[counter]}

        results["cold"] = read_through_mount("bytes_from_origin")
        drop_caches()
        results["warm"] = read_through_mount("bytes_from_cache")

        (data_file,) = glob.glob(os.path.join(cache, "*", "*", "*.data"))
        drop_caches()
        results["disk"] = {"seconds": timed_read(data_file)}
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    for r in results.values():
        r["mib_per_s"] = args.size_mib / r["seconds"]
    results["cold"]["ratio_to_curl"] = results["cold"]["mib_per_s"] / results["curl"]["mib_per_s"]
    results["warm"]["ratio_to_disk"] = results["warm"]["mib_per_s"] / results["disk"]["mib_per_s"]
    results["page_cache_dropped"] = dropped
    results["size_mib"] = args.size_mib

    print(f"| workload ({args.size_mib} MiB file) | MiB/s | ratio | daemon CPU s | daemon peak RSS MiB |")
    print("|---|---|---|---|---|")
    print(f"| curl from nginx (baseline) | {results['curl']['mib_per_s']:.0f} | 1.00 | | |")
    print(f"| cold read through mount | {results['cold']['mib_per_s']:.0f} | "
          f"{results['cold']['ratio_to_curl']:.2f} x curl | {results['cold']['daemon_cpu_s']:.2f} | "
          f"{results['cold']['daemon_peak_rss'] / 2**20:.0f} |")
    print(f"| cache data file from disk (baseline) | {results['disk']['mib_per_s']:.0f} | 1.00 | | |")
    print(f"| warm read after remount | {results['warm']['mib_per_s']:.0f} | "
          f"{results['warm']['ratio_to_disk']:.2f} x disk | {results['warm']['daemon_cpu_s']:.2f} | "
          f"{results['warm']['daemon_peak_rss'] / 2**20:.0f} |")
    print(f"(kernel page cache dropped between runs: {dropped})")
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
