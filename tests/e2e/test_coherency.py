# SPDX-License-Identifier: MIT
"""Origin changes: seen after the attribute timeout, never mixed with the old version."""
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
        old = random_bytes(8 * FOLIO, 3)
        new = random_bytes(8 * FOLIO, 4)
        self.write_origin("f", old)
        self.mount()
        path = os.path.join(self.mnt, "f")
        fd = os.open(path, os.O_RDONLY)
        try:
            head = os.pread(fd, FOLIO, 0)
            self.assertEqual(head, old[:FOLIO])
            self.replace_origin("f", new)
            time.sleep(0.6)
            os.stat(path)  # Revalidates: the daemon sees the new version.
            try:
                rest = os.pread(fd, 7 * FOLIO, FOLIO)
                # Served only if still the old version (from the kernel's page cache), possibly
                # short where the old pages run out.
                self.assertEqual(rest, old[FOLIO:FOLIO + len(rest)])
            except OSError as e:
                self.assertEqual(e.errno, 5)  # EIO: a clean error, not mixed bytes.
        finally:
            os.close(fd)
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
