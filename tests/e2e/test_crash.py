# SPDX-License-Identifier: MIT
"""A kill -9 during copy-to-cache, and a corrupted cache, never lead to wrong bytes."""
import glob
import os
import subprocess
import unittest

from harness import NETCACHE, MountTestCase, random_bytes


class CrashTest(MountTestCase):
    def test_kill9_during_copy_to_cache_then_remount_serves_correct_bytes(self):
        data = random_bytes(64 * 1024 * 1024, 1)
        self.write_origin("f", data)
        self.mount("--memory-limit", "8M")
        pid = self.daemon_pid()
        # A reader that stops 8 MiB in: with 8 MiB of page cache the daemon reads at most a few
        # MiB ahead of it, so the kill comes with most of the file never fetched, however the
        # machine schedules this test.
        with open(os.path.join(self.mnt, "f"), "rb") as reader:
            self.assertEqual(reader.read(8 * 1024 * 1024), data[:8 * 1024 * 1024])
            self.wait_for(lambda: self.stats()["cache_write_bytes"] > 4 * 1024 * 1024,
                          "copies to the cache")
            self.kill9(pid)
            # The mount is dead: what the kernel had read ahead still comes, then an error;
            # never wrong bytes.
            got = b""
            with self.assertRaises(OSError):
                while len(got) < len(data):
                    chunk = reader.read(1024 * 1024)
                    self.assertTrue(chunk, "EOF from a dead mount")
                    got += chunk
            self.assertEqual(got, data[8 * 1024 * 1024:8 * 1024 * 1024 + len(got)])
        subprocess.run([NETCACHE, "umount", "--lazy", self.mnt], check=True, timeout=60)
        self.mounted.remove(self.mnt)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        stats = self.stats()
        # What was recorded before the kill was reused; the rest came from the origin.
        self.assertGreater(stats["bytes_from_cache"], 0)
        self.assertGreater(stats["bytes_from_origin"], 0)
        self.assertEqual(stats["bytes_from_cache"] + stats["bytes_from_origin"], len(data))

    def test_corrupted_cache_data_is_detected_and_refetched(self):
        data = random_bytes(3 * 1024 * 1024, 2)
        self.write_origin("f", data)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        self.umount()
        (data_file,) = glob.glob(os.path.join(self.cache, "*", "*", "*.data"))
        with open(data_file, "r+b") as f:
            f.seek(1024 * 1024 + 5)
            byte = f.read(1)
            f.seek(1024 * 1024 + 5)
            f.write(bytes([byte[0] ^ 0xFF]))
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        stats = self.stats()
        self.assertGreaterEqual(stats["cache_corruptions"], 1)
        self.assertGreater(stats["bytes_from_origin"], 0)

    def test_truncated_cache_files_are_detected(self):
        data = random_bytes(2 * 1024 * 1024, 3)
        self.write_origin("f", data)
        self.mount()
        self.read_mounted("f")
        self.umount()
        (data_file,) = glob.glob(os.path.join(self.cache, "*", "*", "*.data"))
        (meta_file,) = glob.glob(os.path.join(self.cache, "*", "*", "*.meta"))
        os.truncate(data_file, 700 * 1024)
        os.truncate(meta_file, os.path.getsize(meta_file) - 5)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)


if __name__ == "__main__":
    unittest.main()
