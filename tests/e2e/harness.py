# SPDX-License-Identifier: MIT
"""Shared helpers for the end-to-end tests: real `netcache mount` daemons over real FUSE.

Every test gets a fresh scratch directory with an origin, a mountpoint and a cache dir. Mounts
are always unmounted (and their daemons waited for) in tearDown, even when a test fails.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

NETCACHE = os.environ.get("NETCACHE_BIN", os.path.join(os.path.dirname(__file__), "../../build/netcache"))


def require_fuse():
    # A test that cannot run must fail loudly, never skip.
    if not os.path.exists("/dev/fuse"):
        raise AssertionError("/dev/fuse is missing: end-to-end tests need FUSE")
    if shutil.which("fusermount3") is None:
        raise AssertionError("fusermount3 is missing: install the fuse3 package")


def random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


def run(*args, check=True, timeout=60):
    result = subprocess.run([NETCACHE, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"netcache {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


class MountTestCase(unittest.TestCase):
    attr_timeout = "0.2"

    def setUp(self):
        require_fuse()
        self.scratch = tempfile.mkdtemp(prefix="nc-e2e-")
        self.origin = os.path.join(self.scratch, "origin")
        self.mnt = os.path.join(self.scratch, "mnt")
        self.cache = os.path.join(self.scratch, "cache")
        os.makedirs(self.origin)
        os.makedirs(self.mnt)
        self.mounted = []

    def tearDown(self):
        for mnt in reversed(self.mounted):
            if os.path.ismount(mnt) or self._dead(mnt):
                subprocess.run([NETCACHE, "umount", "--lazy", mnt], capture_output=True, timeout=60)
        shutil.rmtree(self.scratch, ignore_errors=True)

    @staticmethod
    def _dead(mnt):
        try:
            os.stat(mnt)
            return False
        except OSError:
            return True

    def write_origin(self, rel, data):
        path = os.path.join(self.origin, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def mount(self, *extra, mnt=None, cache=None):
        mnt = mnt or self.mnt
        run("mount", self.origin, mnt, "--cache-dir", cache or self.cache,
            "--attr-timeout", self.attr_timeout, *extra)
        self.mounted.append(mnt)
        self.assertTrue(os.path.ismount(mnt))
        return mnt

    def umount(self, mnt=None):
        mnt = mnt or self.mnt
        run("umount", mnt)
        self.assertFalse(os.path.ismount(mnt))

    def stats(self, mnt=None):
        out = run("stat", mnt or self.mnt, "--json").stdout
        return json.loads(out)

    def daemon_pid(self, mnt=None):
        return self.stats(mnt)["pid"]

    def read_mounted(self, rel, mnt=None):
        with open(os.path.join(mnt or self.mnt, rel), "rb") as f:
            return f.read()

    def wait_for(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def kill9(self, pid):
        os.kill(pid, signal.SIGKILL)
        self.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                      open(f"/proc/{pid}/stat").read().split()[2] == "Z", "the daemon to die")
