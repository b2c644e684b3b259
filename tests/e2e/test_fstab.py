# SPDX-License-Identifier: MIT
"""Mounting from an fstab line through mount(8) and the mount.fuse.netcache helper."""
import os
import subprocess
import unittest

from harness import NETCACHE, MountTestCase, random_bytes, run

HELPER = "/sbin/mount.fuse.netcache"


class FstabTest(MountTestCase):
    def setUp(self):
        super().setUp()
        # mount(8) looks for helpers in /sbin only. Install ours for the test unless one is there
        # already; remove only what we created.
        self.created_helper = False
        if not os.path.lexists(HELPER):
            os.symlink(os.path.abspath(NETCACHE), HELPER)
            self.created_helper = True

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if self.created_helper:
                os.unlink(HELPER)

    def test_mount_from_a_test_fstab(self):
        data = random_bytes(1024 * 1024 + 3, 1)
        self.write_origin("dir/file", data)
        fstab = os.path.join(self.scratch, "fstab")
        with open(fstab, "w") as f:
            f.write(f"# test fstab\n{self.origin} {self.mnt} fuse.netcache "
                    f"cache-dir={self.cache},attr_timeout=0.5,memory-limit=64M,nofail,x-systemd.automount 0 0\n")
        subprocess.run(["mount", "-T", fstab, self.mnt], check=True, capture_output=True, timeout=60)
        self.mounted.append(self.mnt)
        self.assertTrue(os.path.ismount(self.mnt))
        with open("/proc/mounts") as f:
            self.assertIn(f" {self.mnt} fuse.netcache ", f.read())
        self.assertEqual(self.read_mounted("dir/file"), data)
        self.assertEqual(self.stats()["cache_dir"], self.cache)
        subprocess.run(["umount", self.mnt], check=True, timeout=60)
        self.assertFalse(os.path.ismount(self.mnt))

    def test_bad_option_in_fstab_is_a_clear_error(self):
        fstab = os.path.join(self.scratch, "fstab")
        with open(fstab, "w") as f:
            f.write(f"{self.origin} {self.mnt} fuse.netcache cache-dir={self.cache},no-such-option=1 0 0\n")
        result = subprocess.run(["mount", "-T", fstab, self.mnt], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no-such-option", result.stderr + result.stdout)
        self.assertFalse(os.path.ismount(self.mnt))

    def test_helper_form_used_by_mount_fuse3(self):
        self.write_origin("f", b"via mount.fuse3\n")
        run(self.origin, self.mnt, "-o", f"cache_dir={self.cache},rw,nosuid,nodev")
        self.mounted.append(self.mnt)
        self.assertEqual(self.read_mounted("f"), b"via mount.fuse3\n")


if __name__ == "__main__":
    unittest.main()
