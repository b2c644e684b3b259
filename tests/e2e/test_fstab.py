# SPDX-License-Identifier: MIT
"""Mounting from an fstab line through mount(8) and the mount.fuse.netcache helper, and the
systemd service unit documented in docs/systemd.md."""
import os
import re
import shlex
import subprocess
import unittest

from harness import NETCACHE, MountTestCase, random_bytes, run
from nginx import Nginx

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




class ConfigFileTest(MountTestCase):
    def write_config(self, text, name="config.toml"):
        path = os.path.join(self.scratch, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_defaults_from_the_file_and_the_command_line_wins(self):
        self.write_origin("f", b"configured\n")
        config = self.write_config(f'cache-dir = "{self.cache}"\nmemory_limit = "64M"\n'
                                   'attr-timeout = 0.5\ncache-exclude = ["*.tmp"]\nallow-other = false\n')
        run("mount", self.origin, self.mnt, "--config", config, "--memory-limit", "32M")
        self.mounted.append(self.mnt)
        stats = self.stats()
        self.assertEqual(stats["cache_dir"], self.cache)          # From the file.
        # From the command line: 32 MiB, less the known files' share (1 KiB for each of
        # --max-inodes, by default one per 16 KiB of the limit).
        self.assertEqual(stats["folio_limit"], (32 * 1024 * 1024 * 15 // 16) // (128 * 1024))
        self.assertEqual(self.read_mounted("f"), b"configured\n")

    def test_default_location_under_xdg_config_home(self):
        self.write_origin("f", b"x")
        xdg = os.path.join(self.scratch, "xdg")
        os.makedirs(os.path.join(xdg, "netcache"))
        with open(os.path.join(xdg, "netcache", "config.toml"), "w") as f:
            f.write(f'cache-dir = "{self.cache}"\n')
        result = subprocess.run([NETCACHE, "mount", self.origin, self.mnt], capture_output=True, text=True,
                                env={**os.environ, "XDG_CONFIG_HOME": xdg}, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.mounted.append(self.mnt)
        self.assertEqual(self.stats()["cache_dir"], self.cache)

    def test_errors_name_the_line(self):
        cases = [('cache-dir = "/x"\n\nbogus-key = 3\n', ":3: unknown key 'bogus-key'"),
                 ('allow-other = "yes"\n', ":1: 'allow-other' is a flag"),
                 ('cache-size = true\n', ":1: 'cache-size' takes a value"),
                 ('cache-dir = \n', ":1:")]
        for text, expected in cases:
            config = self.write_config(text, "bad.toml")
            result = run("mount", self.origin, self.mnt, "--config", config, check=False)
            self.assertNotEqual(result.returncode, 0, text)
            self.assertIn(expected, result.stderr, text)
            self.assertFalse(os.path.ismount(self.mnt))
        result = run("mount", self.origin, self.mnt, "--config", "/nonexistent.toml", check=False)
        self.assertIn("cannot read", result.stderr)


class SystemdUnitTest(MountTestCase):
    """The unit from docs/systemd.md, as written there: systemd-analyze accepts it, and its
    ExecStart and ExecStop, run as systemd runs them (no systemd as PID 1 on these machines),
    mount, serve and unmount."""

    def unit(self):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "systemd.md")) as f:
            text = re.search(r"```ini\n(.*?)```", f.read(), re.S).group(1)
        return text.replace("/usr/local/bin/netcache", os.path.abspath(NETCACHE))

    def verify(self, text):
        path = os.path.join(self.scratch, "netcache-data.service")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)

    def test_documented_unit_is_valid(self):
        result = self.verify(self.unit())
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        broken = self.verify(self.unit().replace("Type=simple", "Type=simpel"))
        self.assertIn("simpel", broken.stderr)  # The check can fail.

    def test_exec_start_and_stop_mount_serve_and_unmount(self):
        data = random_bytes(300 * 1024, 5)
        self.write_origin("f", data)
        nginx = Nginx(self.origin, self.scratch).start()
        try:
            headers = os.path.join(self.scratch, "data.headers")
            with open(headers, "w") as f:
                f.write("X-Netcache-Test: 1\n")
            unit = self.unit().replace("https://example.org/data/", nginx.url)
            unit = unit.replace("/mnt/data", self.mnt).replace("/var/cache/netcache", self.cache)
            unit = unit.replace("/etc/netcache/data.headers", headers)
            commands = dict(re.findall(r"^(Exec\w+)=(.*?)(?<!\\)$", unit.replace("\\\n", " "), re.M))
            subprocess.run(shlex.split(commands["ExecStartPre"]), check=True)
            service = subprocess.Popen(shlex.split(commands["ExecStart"]), stderr=subprocess.PIPE, text=True)
            try:
                self.wait_for(lambda: os.path.ismount(self.mnt), "the mount")
                self.mounted.append(self.mnt)
                self.assertEqual(self.read_mounted("f"), data)
                subprocess.run(shlex.split(commands["ExecStop"]), check=True, timeout=60)
                self.mounted.remove(self.mnt)
                # The main process ends by itself, successfully: systemd sees a clean stop.
                self.assertEqual(service.wait(timeout=60), 0)
            finally:
                if service.poll() is None:
                    service.kill()
                    service.wait()
            self.assertFalse(os.path.ismount(self.mnt))
        finally:
            nginx.stop()


if __name__ == "__main__":
    unittest.main()
