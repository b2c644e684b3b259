# SPDX-License-Identifier: MIT
"""Helpers shared by the benchmark scripts: page cache, memory and process measurements."""
import json
import mmap
import os
import shutil
import subprocess

MIB = 1024 * 1024


def drop_caches():
    subprocess.run(["sync"])
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def prime_memory(mib):
    """Touches `mib` MiB of memory and frees it, just before a timed read that fills the page cache.

    On a VM whose balloon reports free pages to the host (this machine's does), memory freed by
    drop_caches goes back to the host within seconds and the next touch of each page costs a
    hypervisor fault: the same 1 GiB cold read through a local-directory mount measured 1.7 GB/s
    right after drop_caches and 1.0 GB/s 20 s later. Readers that fill the page cache (netcache,
    rclone, the disk baseline) would pay it and curl -o /dev/null would not; on a physical
    machine nobody does. Freed pages are handed out again first, so touching them right before
    the read measures the software instead of the hypervisor. Scripts offer --no-prime to measure it as it is.
    """
    if mib <= 0:
        return
    # In 2 MiB pages: the kernel reports free 2 MiB blocks to the host, and huge-page consumers
    # (netcache's folio arenas, ext4's large page-cache folios under dd) take whole blocks, which
    # 4 KiB pages touched in /dev/shm (the first version of this) did not warm. Measured with
    # that version: clearing huge pages was a fifth of netcache's CPU in a cold read; with this
    # one both netcache and the disk baseline read faster (disk 1.4-2.0 vs 0.6-1.6 GB/s).
    region = mmap.mmap(-1, mib * MIB, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        region.madvise(mmap.MADV_HUGEPAGE)
        page = bytes(4096)
        for offset in range(0, mib * MIB, 4096):
            region[offset:offset + 4096] = page
    finally:
        region.close()


def proc_usage(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss = int(line.split()[1]) * 1024
        return cpu, rss
    except OSError:
        return 0.0, 0


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (every process and the kernel;
    not idle, iowait or steal): its difference over a workload is that workload's CPU cost to the
    machine, its reader, nginx and the latency proxy included."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in f.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def disk_write_rate(directory, size_mib, writers=4):
    """MiB/s of writing `size_mib` MiB to a new file in `directory` as netcache writes a cold
    download into its cache: O_DIRECT, 8 MiB blocks, `writers` threads at once (the cache's I/O
    threads), each on its own part of the file. A cold read that is cached cannot go faster than
    its cache disk takes new data. The file is new each time because writes that allocate ran
    1.1-1.6 GB/s on this VM's disk and overwrites 2.2 (fio); one writer (dd) measured 20-30%
    below four."""
    probe = os.path.join(directory, "nc-bench-write-probe")
    part = max(8, size_mib // writers // 8 * 8)
    try:
        out = subprocess.run(["fio", "--name=probe", f"--filename={probe}", "--rw=write", "--bs=8M",
                              "--direct=1", "--ioengine=psync", f"--numjobs={writers}", f"--size={part}M",
                              f"--offset_increment={part}M", "--fallocate=none", "--group_reporting",
                              "--output-format=json"], check=True, capture_output=True, text=True).stdout
        return json.loads(out)["jobs"][0]["write"]["bw"] / 1024  # KiB/s
    finally:
        if os.path.exists(probe):
            os.unlink(probe)


def ensure_tools(*packages):
    """Installs the Debian packages of the named tools (each package's command has its name) when
    missing, as the project's scripts install what they need; without root, says what to install."""
    missing = [p for p in packages if shutil.which(p) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SystemExit(f"the benchmarks need {' '.join(missing)}: apt-get install {' '.join(missing)}")
    print(f"installing {' '.join(missing)}", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
