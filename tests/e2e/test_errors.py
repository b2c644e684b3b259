# SPDX-License-Identifier: MIT
"""Bad input gets a clear message and a non-zero exit; origin trouble never kills the daemon."""
import errno
import os
import subprocess
import unittest

from harness import MountTestCase, random_bytes, run


class ErrorsTest(MountTestCase):
    def assert_fails(self, args, *fragments):
        result = run(*args, check=False)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertFalse(os.path.ismount(self.mnt))
        return result

    def test_missing_source(self):
        self.assert_fails(["mount", os.path.join(self.scratch, "nope"), self.mnt, "--cache-dir", self.cache],
                          "source", "No such file or directory")

    def test_source_not_a_directory(self):
        f = self.write_origin("file", b"x")
        self.assert_fails(["mount", f, self.mnt, "--cache-dir", self.cache], "is not a directory")

    def test_mountpoint_not_a_directory(self):
        f = self.write_origin("file", b"x")
        self.assert_fails(["mount", self.origin, f, "--cache-dir", self.cache], "mountpoint", "not a directory")

    def test_missing_mountpoint(self):
        self.assert_fails(["mount", self.origin, os.path.join(self.scratch, "nomnt"), "--cache-dir", self.cache],
                          "mountpoint", "No such file or directory")

    def test_busy_mountpoint(self):
        self.mount()
        result = run("mount", self.origin, self.mnt, "--cache-dir", os.path.join(self.scratch, "c2"), check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("busy", result.stderr)

    def test_unwritable_cache_dir(self):
        blocker = self.write_origin("blocker", b"x")
        self.assert_fails(["mount", self.origin, self.mnt, "--cache-dir", os.path.join(blocker, "cache")],
                          "cache directory")
        # Read-only file system (root ignores mode bits, so use a read-only mount).
        ro = os.path.join(self.scratch, "ro")
        os.makedirs(ro)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro], check=True)
        try:
            self.assert_fails(["mount", self.origin, self.mnt, "--cache-dir", os.path.join(ro, "c")],
                              "cache directory")
        finally:
            subprocess.run(["umount", ro], check=True)

    def test_two_mounts_of_one_source_share_a_cache_dir(self):
        data = random_bytes(3 * 1024 * 1024, 7)
        self.write_origin("f", data)
        other = os.path.join(self.scratch, "mnt2")
        os.makedirs(other)
        self.mount()
        self.mount(mnt=other)
        self.assertEqual(self.read_mounted("f"), data)
        self.assertEqual(self.read_mounted("f", mnt=other), data)
        for mnt in (self.mnt, other):
            self.wait_for(lambda: self.stats(mnt)["cache_write_bytes"] == len(data), "the copy to the cache")
        listing = __import__("json").loads(run("cache", "ls", "--cache-dir", self.cache, "--json").stdout)
        self.assertEqual(len(listing), 2)  # One volume each: they never write the same files.
        self.assertTrue(all(e["cached_bytes"] == len(data) for e in listing))
        self.umount(other)
        self.umount()
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        self.assertEqual(self.stats()["bytes_from_origin"], 0)

    def test_bad_options(self):
        self.assert_fails(["mount", self.origin, self.mnt, "--memory-limit", "lots"], "--memory-limit")
        self.assert_fails(["mount", self.origin, self.mnt, "--readahead", "4K"], "--readahead")
        self.assert_fails(["mount", self.origin, self.mnt, "--prefetch-random-max", "all"], "--prefetch-random-max")
        self.assert_fails(["mount", "ftp://example.invalid/x/", self.mnt], "only http")
        self.assert_fails(["mount", self.origin, self.mnt, "--offline", "--no-cache"], "--offline")
        result = run("stat", self.scratch, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("not a netcache mount", result.stderr)

    def test_help_on_every_command(self):
        for cmd in ([], ["mount"], ["umount"], ["stat"]):
            result = run(*cmd, "--help")
            self.assertIn("Usage", result.stdout + result.stderr)

    def test_origin_file_deleted_mid_read(self):
        data = random_bytes(4 * 1024 * 1024, 1)
        path = self.write_origin("f", data)
        self.mount("--memory-limit", "1M")
        with open(os.path.join(self.mnt, "f"), "rb", buffering=0) as f:
            self.assertEqual(f.read(128 * 1024), data[:128 * 1024])
            os.unlink(path)
            with self.assertRaises(OSError) as caught:
                # Past what readahead may already hold.
                os.pread(f.fileno(), 128 * 1024, 3 * 1024 * 1024)
            self.assertIn(caught.exception.errno, (errno.EIO, errno.ENOENT))
        # The daemon is still up and serving.
        self.write_origin("g", b"still here")
        self.assertEqual(self.read_mounted("g"), b"still here")
        self.assertGreaterEqual(self.stats()["origin_errors"], 1)

    def test_write_access_is_refused(self):
        self.write_origin("f", b"x")
        self.mount()
        with self.assertRaises(OSError) as caught:
            open(os.path.join(self.mnt, "f"), "r+b")
        self.assertIn(caught.exception.errno, (errno.EROFS, errno.EACCES))


if __name__ == "__main__":
    unittest.main()
