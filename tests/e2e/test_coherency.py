# SPDX-License-Identifier: MIT
"""Origin changes: seen after the attribute timeout, never mixed with the old version."""
import errno
import os
import time
import unittest

from harness import MountTestCase, random_bytes

FOLIO = 128 * 1024


class CoherencyTest(MountTestCase):
    attr_timeout = "0.3"

    def replace_origin(self, rel, data):
        # In place, same size: only mtime/ctime tell the versions apart.
        with open(os.path.join(self.origin, rel), "r+b") as f:
            f.write(data)

    def test_changed_file_is_seen_after_the_attribute_timeout(self):
        old = random_bytes(5 * FOLIO + 11, 1)
        new = random_bytes(5 * FOLIO + 11, 2)
        self.write_origin("f", old)
        self.mount()
        self.assertEqual(self.read_mounted("f"), old)
        self.replace_origin("f", new)
        time.sleep(0.6)
        self.assertEqual(self.read_mounted("f"), new)
        self.assertGreaterEqual(self.stats()["invalidations"], 1)
        # And the persistent cache took the new version, not the old one.
        self.umount()
        self.mount()
        self.assertEqual(self.read_mounted("f"), new)

    def test_open_file_never_mixes_versions(self):
        old = random_bytes(64 * FOLIO, 3)
        new = random_bytes(64 * FOLIO, 4)
        self.write_origin("f", old)
        self.mount("--memory-limit", "4M")
        path = os.path.join(self.mnt, "f")
        fd = os.open(path, os.O_RDONLY)
        try:
            head = os.pread(fd, FOLIO, 0)
            self.assertEqual(head, old[:FOLIO])
            self.replace_origin("f", new)
            time.sleep(0.6)
            os.stat(path)  # Revalidates: the daemon sees the new version.
            self.assertEqual(self.origin_version_seen(), 1)
            # The same handle reads on across the change: each read gives the whole range of
            # the old version (from the kernel's page cache) or fails with EIO; never new
            # bytes, never a short or empty read.
            outcomes = []
            for pos in range(FOLIO, 64 * FOLIO, FOLIO):
                try:
                    chunk = os.pread(fd, FOLIO, pos)
                    self.assertEqual(chunk, old[pos:pos + FOLIO], pos)
                    outcomes.append("old")
                except OSError as e:
                    self.assertEqual(e.errno, errno.EIO)
                    outcomes.append("EIO")
            self.assertIn("EIO", outcomes)  # Past what the page cache held: the change showed.
        finally:
            os.close(fd)
        self.assertEqual(self.read_mounted("f"), new)

    def origin_version_seen(self):
        return self.stats()["invalidations"]

    def test_two_handles_of_two_versions_never_mix(self):
        """Issue 15.2c: the kernel's page cache is shared by every handle of a file: a handle
        pinned to the first version read pages that a handle on the second brought in."""
        old = random_bytes(16 * FOLIO, 10)
        new = random_bytes(16 * FOLIO, 11)
        self.write_origin("f", old)
        self.mount()
        path = os.path.join(self.mnt, "f")
        first = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.pread(first, FOLIO, 0), old[:FOLIO])
            self.replace_origin("f", new)
            time.sleep(0.6)
            second = os.open(path, os.O_RDONLY)  # Asks the origin: the new version.
            try:
                whole = b""
                while len(whole) < len(new):
                    chunk = os.pread(second, 4 * FOLIO, len(whole))
                    self.assertTrue(chunk)
                    whole += chunk
                self.assertEqual(whole, new)
                # The first handle, after the second read everything: old bytes or EIO.
                for pos in range(0, 16 * FOLIO, FOLIO // 2):
                    try:
                        chunk = os.pread(first, FOLIO // 2, pos)
                        self.assertEqual(chunk, old[pos:pos + FOLIO // 2], pos)
                    except OSError as e:
                        self.assertEqual(e.errno, errno.EIO, pos)
                # And the second handle again, now that the first has read (or failed) too.
                self.assertEqual(os.pread(second, len(new), 0), new)
            finally:
                os.close(second)
        finally:
            os.close(first)
        # With the old handle gone, the page cache serves the new version as usual.
        self.assertEqual(self.read_mounted("f"), new)
        self.assertEqual(self.read_mounted("f"), new)

    def test_grown_and_shrunk_files(self):
        self.write_origin("f", random_bytes(3 * FOLIO, 5))
        self.mount()
        self.read_mounted("f")
        for size, seed in [(7 * FOLIO + 5, 6), (100, 7), (0, 8), (FOLIO, 9)]:
            data = random_bytes(size, seed)
            self.write_origin("f", data)
            time.sleep(0.6)
            self.assertEqual(self.read_mounted("f"), data, size)

    def test_new_and_deleted_files_appear_in_listings(self):
        self.write_origin("a", b"a")
        self.mount()
        self.assertEqual(sorted(os.listdir(self.mnt)), ["a"])
        self.write_origin("b", b"b")
        os.unlink(os.path.join(self.origin, "a"))
        time.sleep(0.6)
        self.assertEqual(sorted(os.listdir(self.mnt)), ["b"])
        self.assertFalse(os.path.exists(os.path.join(self.mnt, "a")))


if __name__ == "__main__":
    unittest.main()
