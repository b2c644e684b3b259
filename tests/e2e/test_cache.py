# SPDX-License-Identifier: MIT
"""Cache limits through real mounts: --cache-size, culling order, files in use, a full or
read-only cache disk. Reads must always stay correct; the cache only loses entries."""
import errno
import os
import resource
import shutil
import subprocess
import time
import unittest

from harness import NETCACHE, MountTestCase, random_bytes, run

MIB = 1024 * 1024


def du_bytes(path):
    out = subprocess.run(["du", "-s", "-B1", path], check=True, capture_output=True, text=True).stdout
    return int(out.split()[0])


class CacheLimitTest(MountTestCase):
    def test_cache_size_is_kept_and_reads_stay_correct(self):
        files = {f"f{i}": random_bytes(MIB, i) for i in range(16)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        self.mount("--cache-size", "4M")
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        self.wait_for(lambda: self.stats()["culled_files"] > 0 and self.stats()["cache_bytes"] <= 4 * MIB,
                      "the culler")
        stats = self.stats()
        self.assertLessEqual(stats["cache_bytes"], 4 * MIB)
        self.assertLessEqual(du_bytes(self.cache), 4 * MIB)
        self.assertGreater(stats["cache_writes_refused"] + stats["culled_files"], 0)
        # The counter and du agree within 1%.
        self.assertAlmostEqual(stats["cache_bytes"], du_bytes(self.cache), delta=du_bytes(self.cache) * 0.01)
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)

    def test_two_daemons_on_one_cache_dir_keep_one_quota(self):
        """Two mounts of different sources share a cache directory and its --cache-size: each
        measures the whole directory and culls its own files, so together they stay under it."""
        files = {f"f{i}": random_bytes(MIB, 900 + i) for i in range(8)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        second_origin = os.path.join(self.scratch, "origin2")
        os.makedirs(second_origin)
        for rel, data in files.items():
            with open(os.path.join(second_origin, rel), "wb") as f:
                f.write(data[::-1])
        other = os.path.join(self.scratch, "mnt2")
        os.makedirs(other)
        self.mount("--cache-size", "6M")
        run("mount", second_origin, other, "--cache-dir", self.cache, "--cache-size", "6M")
        self.mounted.append(other)
        for rel, data in files.items():  # 16 MiB in all through the two, against one 6 MiB quota.
            self.assertEqual(self.read_mounted(rel), data, rel)
            self.assertEqual(self.read_mounted(rel, mnt=other), data[::-1], rel)
        self.wait_for(lambda: du_bytes(self.cache) <= 6 * MIB, "the two cullers")
        for mnt in (self.mnt, other):
            self.assertGreater(self.stats(mnt)["culled_files"], 0)  # Each culled its own.
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
            self.assertEqual(self.read_mounted(rel, mnt=other), data[::-1], rel)

    def test_data_of_a_source_no_longer_mounted_counts_and_is_culled(self):
        old = {f"old{i}": random_bytes(MIB, 950 + i) for i in range(8)}
        for rel, data in old.items():
            self.write_origin(rel, data)
        self.mount()  # No limit: 8 MiB cached.
        for rel, data in old.items():
            self.assertEqual(self.read_mounted(rel), data)
        self.wait_for(lambda: self.stats()["cache_write_bytes"] >= 8 * MIB, "the copies to the cache")
        self.umount()
        self.assertGreaterEqual(du_bytes(self.cache), 8 * MIB)
        second_origin = os.path.join(self.scratch, "origin2")
        os.makedirs(second_origin)
        with open(os.path.join(second_origin, "new"), "wb") as f:
            f.write(old["old0"][::-1])
        run("mount", second_origin, self.mnt, "--cache-dir", self.cache, "--cache-size", "4M")
        self.mounted.append(self.mnt)
        self.assertEqual(self.read_mounted("new"), old["old0"][::-1])
        # The first source's volume has no daemon: the second's culler takes its files.
        self.wait_for(lambda: du_bytes(self.cache) <= 4 * MIB, "the culler")
        self.assertGreater(self.stats()["culled_files"], 0)
        self.umount()
        self.mount()  # The first source again: what is left of its cache is still good.
        for rel, data in old.items():
            self.assertEqual(self.read_mounted(rel), data)

    def test_a_scan_does_not_flush_the_working_set(self):
        hot = {f"hot{i}": random_bytes(MIB, 100 + i) for i in range(2)}
        scan = {f"scan{i}": random_bytes(MIB, 200 + i) for i in range(12)}
        for rel, data in {**hot, **scan}.items():
            self.write_origin(rel, data)
        self.mount("--cache-size", "6M")
        for _ in range(2):  # The working set is used again and again.
            for rel, data in hot.items():
                self.assertEqual(self.read_mounted(rel), data)
        for rel, data in scan.items():  # Then one pass over many files, each read once.
            self.assertEqual(self.read_mounted(rel), data)
            time.sleep(0.05)
        self.wait_for(lambda: self.stats()["culled_files"] > 0, "the culler")
        self.umount()
        self.mount("--cache-size", "6M")
        for rel, data in hot.items():
            self.assertEqual(self.read_mounted(rel), data)
        self.assertEqual(self.stats()["bytes_from_origin"], 0, "the working set was culled")

    def test_open_file_is_never_culled(self):
        pinned = random_bytes(2 * MIB, 300)
        self.write_origin("open", pinned)
        others = {f"o{i}": random_bytes(MIB, 310 + i) for i in range(10)}
        for rel, data in others.items():
            self.write_origin(rel, data)
        self.mount("--cache-size", "4M")
        with open(os.path.join(self.mnt, "open"), "rb") as held:
            self.assertEqual(held.read(), pinned)
            for rel, data in others.items():
                self.assertEqual(self.read_mounted(rel), data)
            self.wait_for(lambda: self.stats()["culled_files"] > 0, "the culler")
            cached = int(os.getxattr(os.path.join(self.mnt, "open"), "user.netcache.cached"))
            self.assertEqual(cached, len(pinned))


    def test_admission_rules_choose_what_is_cached(self):
        files = {"big.iso": random_bytes(2 * MIB, 500), "tiny": b"x" * 100, "keep/data.bin": random_bytes(MIB, 501),
                 "huge.bin": random_bytes(3 * MIB, 502)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        self.mount("--cache-exclude", "*.iso", "--cache-min-size", "1K", "--cache-max-size", "2M")
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data)

        def cached(rel):
            info = run("inspect", os.path.join(self.mnt, rel), "--json").stdout
            return __import__("json").loads(info)["cached_bytes"]

        self.wait_for(lambda: cached("keep/data.bin") == MIB, "the copy to the cache")
        self.assertEqual(cached("big.iso"), 0)
        self.assertEqual(cached("tiny"), 0)
        self.assertEqual(cached("huge.bin"), 0)


class TmpfsCacheTestCase(MountTestCase):
    """The cache directory is a small tmpfs of the test's own (`tmpfs_options`)."""
    tmpfs_options = "size=3m,mode=0700"

    def setUp(self):
        super().setUp()
        os.makedirs(self.cache)
        subprocess.run(["mount", "-t", "tmpfs", "-o", self.tmpfs_options, "tmpfs", self.cache], check=True)

    def tearDown(self):
        try:
            super().tearDown()  # Unmounts netcache first; the scratch's rmtree stops at the tmpfs.
        finally:
            subprocess.run(["umount", "-l", self.cache], capture_output=True)
            shutil.rmtree(self.scratch, ignore_errors=True)  # What was under it.


class SmallDiskTest(TmpfsCacheTestCase):

    def test_free_space_thresholds_start_and_stop_culling(self):
        files = {f"f{i}": random_bytes(512 * 1024, 600 + i) for i in range(8)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        # 3 MiB disk: culling starts below 40% free (1.2 MiB) and runs until 60% is free.
        self.mount("--bcull", "40", "--brun", "60", "--bstop", "10")
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data)

        def free_pct():
            st = os.statvfs(self.cache)
            return 100.0 * st.f_bavail / st.f_blocks

        self.wait_for(lambda: self.stats()["culled_files"] > 0 and free_pct() >= 40, "the culler")
        self.assertGreaterEqual(free_pct(), 10)  # Writes stopped before bstop.
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data)

    def test_full_cache_disk_keeps_serving_correct_bytes(self):
        data = random_bytes(12 * MIB, 400)
        self.write_origin("big", data)
        more = {f"more{i}": random_bytes(2 * MIB, 410 + i) for i in range(4)}
        for rel, content in more.items():
            self.write_origin(rel, content)
        log = os.path.join(self.scratch, "daemon.log")
        self.mount("--log-file", log)
        self.assertEqual(self.read_mounted("big"), data)
        stats = self.stats()
        self.assertGreater(stats["cache_writes_refused"] + stats["cache_write_errors"], 0)
        self.assertEqual(self.read_mounted("big"), data)
        for rel, content in more.items():  # Each refused too: counted, not each logged.
            self.assertEqual(self.read_mounted(rel), content)
        self.write_origin("small", b"still fine")
        self.assertEqual(self.read_mounted("small"), b"still fine")
        self.umount()
        with open(log) as f:
            said = [line for line in f if "cache write for" in line]
        self.assertEqual(len(said), 1, said)  # One line says why.


class FewInodesTest(TmpfsCacheTestCase):
    """A cache file system that runs out of files (inodes) before blocks: fcull/frun/fstop."""
    tmpfs_options = "size=64m,nr_inodes=400,mode=0700"

    def test_file_thresholds_cull_and_reads_stay_correct(self):
        files = {f"d{i % 10}/f{i:03d}": random_bytes(8192, 700 + i) for i in range(150)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        self.mount("--fcull", "40", "--frun", "50", "--fstop", "5", "--attr-timeout", "0")
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)

        def free_files_pct():
            st = os.statvfs(self.cache)
            return 100.0 * st.f_favail / st.f_files

        self.wait_for(lambda: self.stats()["culled_files"] > 0, "the culler")
        # fstop is 5%; files being created at the same moment (one per FUSE thread at most) may
        # take a few more.
        self.assertGreater(free_files_pct(), 2)
        for rel, data in list(files.items())[:20]:
            self.assertEqual(self.read_mounted(rel), data, rel)


class DescriptorLimitTest(MountTestCase):
    """The kernel keeps an inode for every file it has seen, and the daemon kept a netfs inode
    and a cache object for each: with the 1024 descriptors a shell gives, reading a tree of 500
    files failed with EIO, and memory grew by 1.7 KB per file read. The daemon here gets 256
    descriptors (soft and hard, so it cannot raise them) and reads 1200 files."""

    def mount_limited(self):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        subprocess.run([NETCACHE, "mount", self.origin, self.mnt, "--cache-dir", self.cache,
                        "--attr-timeout", "60"], check=True, capture_output=True, timeout=60,
                       preexec_fn=limit)
        self.mounted.append(self.mnt)
        pid = self.daemon_pid()
        with open(f"/proc/{pid}/limits") as f:
            self.assertIn("256", next(line for line in f if line.startswith("Max open files")))
        return pid

    def test_thousands_of_files_are_read_and_cached_within_the_limit(self):
        files = {f"d{i % 12}/f{i}": random_bytes(2000 + 7 * i, 900 + i) for i in range(1200)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        for warm in [False, True]:
            pid = self.mount_limited()
            for rel, data in files.items():
                self.assertEqual(self.read_mounted(rel), data, rel)
            self.assertLess(len(os.listdir(f"/proc/{pid}/fd")), 256)
            stats = self.stats()
            # Closed files beyond the budget (256 / 8) let their state go: memory stays bounded.
            self.assertGreaterEqual(stats["inodes"], len(files))
            self.assertLessEqual(stats["file_inodes"], 256 // 8)
            self.assertEqual(stats["cache_open_errors"], 0)
            self.assertEqual(stats["origin_errors"], 0)
            if warm:  # Every file from the cache, through objects reopened on demand.
                self.assertEqual(stats["bytes_from_origin"], 0)
                self.assertEqual(stats["bytes_from_cache"], sum(len(d) for d in files.values()))
            else:
                self.wait_for(lambda: self.stats()["cache_files"] == len(files), "every file cached")
            self.umount()


class InodeLimitTest(MountTestCase):
    """The kernel keeps an inode for every file it has seen while it has memory to spare, and
    the daemon a node for each (about 0.75 KB): past --max-inodes the kernel is asked to forget
    the least recently used files, so memory does not grow with the files served."""

    def test_files_beyond_the_bound_are_forgotten_and_read_again_correctly(self):
        files = {f"d{i % 10}/f{i}": random_bytes(100 + i % 900, 1300 + i) for i in range(3000)}
        for rel, data in files.items():
            self.write_origin(rel, data)
        self.mount("--max-inodes", "500")
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        self.wait_for(lambda: self.stats()["inodes"] <= 500, "the kernel to forget cold files")
        for rel, data in list(files.items())[:300]:  # Forgotten: looked up and read again.
            self.assertEqual(self.read_mounted(rel), data, rel)
        stats = self.stats()
        self.assertEqual(stats["origin_errors"], 0)
        self.assertEqual(stats["cache_open_errors"], 0)


class CacheDiskTurnsReadOnlyTest(MountTestCase):
    """The cache's file system goes read-only under a running mount, as ext4 does on a disk
    error (errors=remount-ro): forced here with ext4's own trigger_fs_error."""

    def setUp(self):
        super().setUp()
        image = os.path.join(self.scratch, "cache.img")
        with open(image, "wb") as f:
            f.truncate(64 * MIB)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        os.makedirs(self.cache)
        subprocess.run(["mount", "-o", "loop,errors=remount-ro", image, self.cache], check=True)
        source = subprocess.run(["findmnt", "-n", "-o", "SOURCE", self.cache], capture_output=True,
                                text=True, check=True).stdout.strip()
        self.trigger = f"/sys/fs/ext4/{os.path.basename(source)}/trigger_fs_error"
        self.assertTrue(os.path.exists(self.trigger), self.trigger)

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            subprocess.run(["umount", self.cache], capture_output=True)
            shutil.rmtree(self.scratch, ignore_errors=True)  # The mount point the first rmtree left.

    def test_reads_go_on_from_the_origin_and_from_what_was_cached(self):
        cached = random_bytes(4 * MIB, 800)
        fresh = random_bytes(3 * MIB + 5, 801)
        self.write_origin("cached", cached)
        self.write_origin("fresh", fresh)
        self.write_origin("fresh2", b"another file that cannot be cached")
        log = os.path.join(self.scratch, "daemon.log")
        self.mount("--attr-timeout", "0", "--log-file", log)
        self.assertEqual(self.read_mounted("cached"), cached)
        self.wait_for(lambda: self.stats()["cache_write_bytes"] >= len(cached), "the copy to the cache")
        with open(self.trigger, "w") as f:
            f.write("netcache test: disk went bad\n")
        def read_only():
            try:
                with open(os.path.join(self.cache, "probe"), "w"):
                    pass
            except OSError as e:
                return e.errno == errno.EROFS
            os.unlink(os.path.join(self.cache, "probe"))
            return False

        self.wait_for(read_only, "the file system to turn read-only")
        origin_before = self.stats()["bytes_from_origin"]
        self.assertEqual(self.read_mounted("fresh"), fresh)  # Cannot be cached: from the origin.
        stats = self.stats()
        self.assertGreater(stats["cache_open_errors"] + stats["cache_write_errors"], 0)
        self.assertGreaterEqual(stats["bytes_from_origin"] - origin_before, len(fresh))
        self.assertEqual(self.read_mounted("fresh"), fresh)
        self.assertEqual(self.read_mounted("fresh2"), b"another file that cannot be cached")
        self.assertEqual(self.read_mounted("cached"), cached)  # Still readable from the cache.
        self.umount()  # Cleanly, though nothing more can be written.
        with open(log) as f:
            said = [line for line in f if "not caching" in line]
        self.assertEqual(len(said), 1, said)  # One line says why, not one per file.
        self.assertIn("Read-only file system", said[0])


if __name__ == "__main__":
    unittest.main()
