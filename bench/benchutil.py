# SPDX-License-Identifier: MIT
"""Helpers shared by the benchmark scripts: page cache, memory and process measurements."""
import mmap
import os
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
