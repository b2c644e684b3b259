# SPDX-License-Identifier: MIT
"""Defects found by hostile testing (issue 15), each through a real mount: listings of large
directories, lying and abusive HTTP servers (hostile_origin.py), and careless use."""
import errno
import os
import signal
import subprocess
import time
import unittest

from harness import NETCACHE, MountTestCase, random_bytes, run
from hostile_origin import HostileOrigin
from nginx import Nginx


class ListingTest(MountTestCase):
    """Issue 15.1: plain READDIRs carried inode 0 and glibc skipped those entries."""

    def check_listing(self, directory, names):
        with os.scandir(directory) as it:
            seen = {entry.name: entry.inode() for entry in it}
        self.assertEqual(sorted(seen), sorted(names))
        for name in sorted(names)[::97]:
            self.assertEqual(os.lstat(os.path.join(directory, name)).st_ino, seen[name], name)
        listed = subprocess.run(["ls", "-f", directory], capture_output=True, text=True, check=True)
        self.assertEqual(sorted(listed.stdout.split("\n")[:-1]), sorted(names + [".", ".."]))
        inodes = subprocess.run(["ls", "-ai", directory], capture_output=True, text=True, check=True)
        by_name = {line.split()[1]: int(line.split()[0]) for line in inodes.stdout.splitlines()}
        self.assertEqual(by_name["."], os.stat(directory).st_ino)

    def make_files(self, count):
        names = [f"file-{i:05d}-{'x' * (i % 40)}" for i in range(count)]
        for name in names:
            self.write_origin(os.path.join("big", name), name.encode())
        self.write_origin("small/a", b"a")
        return names

    def test_every_entry_of_a_large_directory_is_listed_with_its_inode(self):
        names = self.make_files(2000)
        self.mount()
        self.check_listing(os.path.join(self.mnt, "big"), names)
        self.check_listing(os.path.join(self.mnt, "small"), ["a"])
        self.check_listing(self.mnt, ["big", "small"])
        found = subprocess.run(["find", os.path.join(self.mnt, "big"), "-type", "f"],
                               capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(len(found), 2000)

    def test_every_entry_of_a_large_directory_is_listed_over_http(self):
        names = self.make_files(2000)
        nginx = Nginx(self.origin, self.scratch).start()
        try:
            run("mount", nginx.url, self.mnt, "--cache-dir", self.cache, "--attr-timeout", "5")
            self.mounted.append(self.mnt)
            self.check_listing(os.path.join(self.mnt, "big"), names)
            self.umount()
        finally:
            nginx.stop()


class CacheDirSafetyTest(MountTestCase):
    """Issue 15.6: the cache's files were opened through symlinks, and a cache directory made by
    someone else (or open to everyone) was used as it was."""

    def assert_refused(self, fragment):
        result = run("mount", self.origin, self.mnt, "--cache-dir", self.cache, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(fragment, result.stderr)
        self.assertFalse(os.path.ismount(self.mnt))

    def test_a_cache_dir_of_another_user_or_open_to_all_is_refused(self):
        self.write_origin("f", b"data")
        os.makedirs(self.cache)
        os.chown(self.cache, 65534, 65534)
        self.assert_refused("belongs to uid 65534")
        os.chown(self.cache, 0, 0)
        os.chmod(self.cache, 0o777)
        self.assert_refused("writable by other users")
        os.chmod(self.cache, 0o700)
        self.mount()
        self.assertEqual(self.read_mounted("f"), b"data")

    def test_a_new_cache_dir_is_private(self):
        self.write_origin("f", b"data")
        self.mount()
        self.assertEqual(os.stat(self.cache).st_mode & 0o777, 0o700)

    def test_planted_symlinks_in_the_cache_are_never_followed(self):
        data = random_bytes(3 * 1024 * 1024 + 7, 40)
        self.write_origin("f", data)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        os.listdir(self.mnt)
        self.umount()
        victim = os.path.join(self.scratch, "precious")
        with open(victim, "wb") as f:
            f.write(b"root's own bytes")
        os.chmod(victim, 0o600)
        made = os.path.join(self.scratch, "made")
        planted = 0
        for dirpath, _, filenames in os.walk(self.cache):
            for name in filenames:
                if name == "lock":
                    continue
                path = os.path.join(dirpath, name)
                os.unlink(path)
                os.symlink(made if name == "volume.key" else victim, path)
                planted += 1
        self.assertGreaterEqual(planted, 4)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        os.listdir(self.mnt)
        self.umount()
        with open(victim, "rb") as f:
            self.assertEqual(f.read(), b"root's own bytes")
        self.assertFalse(os.path.exists(made))


class CarelessUserTest(MountTestCase):
    def assert_refused(self, args, fragment):
        result = run("mount", *args, check=False)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn(fragment, result.stderr)
        for mnt in (self.mnt, os.path.join(self.origin, "inner"), os.path.join(self.cache, "inner")):
            self.assertFalse(os.path.ismount(mnt), mnt)

    def test_nested_paths_are_refused(self):
        """Issue 15.11: a cache dir inside the mountpoint, or a mountpoint inside the source,
        deadlocked the daemon on itself; a mountpoint inside the cache dir was culled."""
        self.write_origin("f", b"x")
        inner = os.path.join(self.origin, "inner")
        os.makedirs(inner)
        os.makedirs(os.path.join(self.cache, "inner"))
        self.assert_refused([self.origin, self.mnt, "--cache-dir", os.path.join(self.mnt, "c")],
                            "is inside the mountpoint")
        self.assert_refused([self.origin, self.mnt, "--cache-dir", self.mnt], "is inside the mountpoint")
        self.assert_refused([self.origin, os.path.join(self.cache, "inner"), "--cache-dir", self.cache],
                            "is inside the cache directory")
        self.assert_refused([self.origin, inner, "--cache-dir", self.cache], "is inside the source")
        self.assert_refused([inner, self.origin, "--cache-dir", os.path.join(self.scratch, "c2")],
                            "is inside the mountpoint")
        # Through a symlink too.
        link = os.path.join(self.scratch, "link")
        os.symlink(self.mnt, link)
        self.assert_refused([self.origin, self.mnt, "--cache-dir", os.path.join(link, "c")],
                            "is inside the mountpoint")

    def test_bad_numbers_are_refused(self):
        """Issue 15.5 and 15.22: nan and inf timeouts were taken (and gave torn reads); a minimum
        size above the maximum cached nothing without a word."""
        self.write_origin("f", b"x")
        base = [self.origin, self.mnt, "--cache-dir", self.cache]
        for value in ("nan", "inf", "-1", "1e30"):
            self.assert_refused(base + ["--attr-timeout", value], "--attr-timeout")
        self.assert_refused(base + ["--stale-if-error", "inf"], "--stale-if-error")
        self.assert_refused(base + ["--cache-min-size", "10M", "--cache-max-size", "1M"],
                            "larger than --cache-max-size")

    def test_umount_unmounts_only_netcache_mounts(self):
        """Issue 15.8 and 15.22: `netcache umount` unmounted any file system (a tmpfs), and said
        "Invalid argument" twice of a directory with nothing mounted."""
        result = run("umount", self.mnt, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("is not mounted", result.stderr)
        other = os.path.join(self.scratch, "tmpfs")
        os.makedirs(other)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", other], check=True)
        try:
            result = run("umount", other, check=False)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("not a netcache one", result.stderr)
            self.assertTrue(os.path.ismount(other))
        finally:
            subprocess.run(["umount", other], check=True)
        self.write_origin("f", b"x")
        self.mount()
        self.umount()

    def test_sigterm_to_a_foreground_daemon_unmounts_cleanly_with_status_0(self):
        """Issue 15.20: SIGTERM logged "FUSE loop ended with an error" and exited 1."""
        self.write_origin("f", b"hello")
        daemon = subprocess.Popen([NETCACHE, "mount", "-f", self.origin, self.mnt, "--cache-dir", self.cache],
                                  stderr=subprocess.PIPE, text=True)
        try:
            self.wait_for(lambda: os.path.ismount(self.mnt), "the mount")
            self.assertEqual(self.read_mounted("f"), b"hello")
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=60)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        self.assertEqual(daemon.returncode, 0, err)
        self.assertNotIn("error", err.lower())
        self.assertFalse(os.path.ismount(self.mnt))


class HostileHttpTestCase(MountTestCase):
    def setUp(self):
        super().setUp()
        self.server = HostileOrigin()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.server.stop()

    def mount_server(self, *extra, url=None):
        run("mount", url or self.server.url, self.mnt, "--cache-dir", self.cache,
            "--attr-timeout", "30", *extra)
        self.mounted.append(self.mnt)
        self.assertTrue(os.path.ismount(self.mnt))


class HostileListingTest(HostileHttpTestCase):
    def test_names_too_long_are_left_out_of_a_listing_not_failing_it(self):
        """Issue 15.5: one listing name over 1024 bytes failed the whole `ls` with EIO."""
        self.server.put("ok.txt", b"fine")
        self.server.extra_listed = ["n" * 300, "m" * 2000]
        self.mount_server()
        self.assertEqual(sorted(os.listdir(self.mnt)), ["ok.txt"])
        self.assertEqual(self.read_mounted("ok.txt"), b"fine")
        with self.assertRaises(OSError) as caught:
            os.stat(os.path.join(self.mnt, "n" * 300))
        self.assertEqual(caught.exception.errno, errno.ENAMETOOLONG)
        # Nobody asked the server about a name no file system could hold.
        self.assertEqual(self.server.requests_for("/" + "n" * 300), [])


class HostileRangeTest(HostileHttpTestCase):
    def test_a_ranged_answer_of_another_version_fails_the_read(self):
        """Issue 15.2a: a 206 from a server that ignores If-Range was never compared with the
        pinned version: one `cat` gave three versions' bytes."""
        size = 8 * 1024 * 1024
        v1 = random_bytes(size, 1)
        v2 = random_bytes(size, 2)
        self.server.put("f", v1)
        self.server.ignore_if_range = True
        self.mount_server("--readahead", "1M", "--no-cache")
        with open(os.path.join(self.mnt, "f"), "rb", buffering=0) as f:
            first = f.read(128 * 1024)
            self.assertEqual(first, v1[:len(first)])
            self.server.put("f", v2)  # Same size: only the validator tells.
            got = bytearray(first)
            with self.assertRaises(OSError) as caught:
                while len(got) < size:
                    chunk = f.read(1024 * 1024)
                    if not chunk:
                        break
                    got += chunk
            self.assertEqual(caught.exception.errno, errno.EIO)
        # Whatever came before the error is of the first version only.
        self.assertEqual(bytes(got), v1[:len(got)])
        # Ranged requests did get answers of the new version.
        ranged = [r for r in self.server.requests if r[0] == "GET" and "Range" in r[2]]
        self.assertTrue(any(r[2].get("If-Range") == '"v1"' for r in ranged))
        # Reopening gives the new version, whole.
        self.assertEqual(self.read_mounted("f"), v2)


if __name__ == "__main__":
    unittest.main()
