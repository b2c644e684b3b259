#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: the HTTP origin's cold and warm sequential read against the baselines of the same run.

Starts a private nginx on 127.0.0.1 serving a generated file (1 GiB by default), then measures:
  curl      curl -o /dev/null from nginx (the network limit for cold reads)
  cold      dd through a fresh netcache mount (from the origin, copied into the cache)
  warm      dd through a new mount over the same cache (kernel page cache dropped)
  disk      dd of the cache's own data file (page cache dropped): the physical limit for warm
  disk write  as many bytes written to a new file beside the cache as the cache writes them
            (benchutil.disk_write_rate): the cache disk's rate for new data, which a cold read
            that is cached cannot beat
and prints a markdown table and JSON with throughputs, ratios, daemon CPU seconds and peak RSS, and
the whole machine's busy CPU seconds per GiB for curl and the reads through the mount (nginx, the
latency proxy and the reader included: on a small machine they all share its cores).
Usage: [NETCACHE=build] bench/http_cold_warm.py [--size-mib N] [--latency-ms RTT[@MIBS]] [--no-prime]
                                               [--mount-options "OPTS"] [--json FILE]
(as root; build/netcache must exist). --latency-ms puts bench/latency_proxy.py between netcache
(and curl) and nginx: RTT ms added, over a link of MIBS MiB/s when given. --mount-options are added
to both mounts' command lines (e.g. "--readahead 64M").
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
sys.path.insert(0, HERE)
from benchutil import (busy_cpu_seconds, disk_write_rate, drop_caches, ensure_tools,  # noqa: E402
                       prime_memory, proc_usage)
from latency_proxy import LatencyProxy  # noqa: E402

# NETCACHE=path picks another build (A/B runs).
NETCACHE = os.environ.get("NETCACHE", os.path.join(HERE, "..", "build", "netcache"))


def timed_read(path):
    start = time.monotonic()
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M"], check=True, capture_output=True)
    return time.monotonic() - start


def netcache(*args):
    return subprocess.run([NETCACHE, *args], check=True, capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--latency-ms", default="0", metavar="RTT[@MIBS]")
    parser.add_argument("--mount-options", default="", help="extra netcache mount options")
    parser.add_argument("--no-prime", action="store_true", help="see benchutil.prime_memory")
    args = parser.parse_args()
    ensure_tools("curl", "fio")
    prime_mib = 0 if args.no_prime else 2 * args.size_mib + 256
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
    rtt_ms, _, link = args.latency_ms.partition("@")
    proxy = (LatencyProxy(nginx.port, float(rtt_ms), float(link) if link else None).start()
             if float(rtt_ms) > 0 or link else None)
    url = f"http://127.0.0.1:{proxy.port}/" if proxy else nginx.url
    results = {}
    try:
        dropped = drop_caches()
        # Warm nginx's own page cache for the file, so the origin side is not disk-bound.
        subprocess.run(["cat", os.path.join(root, "big")], stdout=subprocess.DEVNULL, check=True)
        busy0 = busy_cpu_seconds()
        start = time.monotonic()
        subprocess.run(["curl", "-s", "-o", "/dev/null", url + "big"], check=True)
        results["curl"] = {"seconds": time.monotonic() - start, "machine_cpu_s": busy_cpu_seconds() - busy0}
        results["disk_write"] = {"seconds": args.size_mib / disk_write_rate(work, args.size_mib)}

        def read_through_mount(*counters):
            """Mounts, reads the file once, unmounts; the timing and the daemon's usage."""
            netcache("mount", url, mnt, "--cache-dir", cache, *args.mount_options.split())
            pid = json.loads(netcache("stat", mnt, "--json"))["pid"]
            prime_memory(prime_mib)
            busy0 = busy_cpu_seconds()
            seconds = timed_read(os.path.join(mnt, "big"))
            busy = busy_cpu_seconds() - busy0
            cpu, rss = proc_usage(pid)
            stats = json.loads(netcache("stat", mnt, "--json"))
            netcache("umount", mnt)
            return {"seconds": seconds, "daemon_cpu_s": cpu, "daemon_peak_rss": rss, "machine_cpu_s": busy,
                    **{c: stats.get(c) for c in counters}}

        results["cold"] = read_through_mount("bytes_from_origin", "cache_write_bytes",
                                             "cache_backlog_waits", "cache_write_skipped_bytes")
        drop_caches()
        results["warm"] = read_through_mount("bytes_from_cache")

        (data_file,) = glob.glob(os.path.join(cache, "*", "*", "*.data"))
        drop_caches()
        prime_memory(prime_mib)
        results["disk"] = {"seconds": timed_read(data_file)}
    finally:
        if proxy:
            proxy.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)

    for r in results.values():
        r["mib_per_s"] = args.size_mib / r["seconds"]
    results["cold"]["ratio_to_curl"] = results["cold"]["mib_per_s"] / results["curl"]["mib_per_s"]
    results["cold"]["ratio_to_disk_write"] = results["cold"]["mib_per_s"] / results["disk_write"]["mib_per_s"]
    results["warm"]["ratio_to_disk"] = results["warm"]["mib_per_s"] / results["disk"]["mib_per_s"]
    results["page_cache_dropped"] = dropped
    results["size_mib"] = args.size_mib
    results["latency"] = args.latency_ms

    gib = args.size_mib / 1024
    print(f"| workload ({args.size_mib} MiB file, {args.latency_ms} ms) | MiB/s | ratio | daemon CPU s "
          "| machine CPU s per GiB | daemon peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    print(f"| curl from nginx (baseline) | {results['curl']['mib_per_s']:.0f} | 1.00 | | "
          f"{results['curl']['machine_cpu_s'] / gib:.2f} | |")
    print(f"| new data written to the cache disk (baseline) | {results['disk_write']['mib_per_s']:.0f} | 1.00 | | | |")
    print(f"| cold read through mount | {results['cold']['mib_per_s']:.0f} | "
          f"{results['cold']['ratio_to_curl']:.2f} x curl, {results['cold']['ratio_to_disk_write']:.2f} x disk write | "
          f"{results['cold']['daemon_cpu_s']:.2f} | {results['cold']['machine_cpu_s'] / gib:.2f} | "
          f"{results['cold']['daemon_peak_rss'] / 2**20:.0f} |")
    print(f"| cache data file from disk (baseline) | {results['disk']['mib_per_s']:.0f} | 1.00 | | | |")
    print(f"| warm read after remount | {results['warm']['mib_per_s']:.0f} | "
          f"{results['warm']['ratio_to_disk']:.2f} x disk | {results['warm']['daemon_cpu_s']:.2f} | "
          f"{results['warm']['machine_cpu_s'] / gib:.2f} | {results['warm']['daemon_peak_rss'] / 2**20:.0f} |")
    print(f"(kernel page cache dropped between runs: {dropped})")
    print(json.dumps(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
