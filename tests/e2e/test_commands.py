# SPDX-License-Identifier: MIT
"""The commands that act on a mount or a cache directory; every --json output is parsed."""
import json
import os
import subprocess
import unittest

from harness import MountTestCase, random_bytes, run

MIB = 1024 * 1024


class CommandsTest(MountTestCase):
    def setUp(self):
        super().setUp()
        self.files = {"a": random_bytes(3 * MIB + 5, 1), "dir/b": random_bytes(MIB, 2),
                      "dir/sub/c": random_bytes(200 * 1024, 3)}
        for rel, data in self.files.items():
            self.write_origin(rel, data)
        self.mount("--memory-limit", "2M")

    def inspect(self, rel):
        return json.loads(run("inspect", os.path.join(self.mnt, rel), "--json").stdout)

    def test_inspect_shows_cached_ranges(self):
        info = self.inspect("a")
        self.assertEqual(info["size"], len(self.files["a"]))
        self.assertEqual(info["cached_bytes"], 0)
        self.assertEqual(info["ranges"], [])
        with open(os.path.join(self.mnt, "a"), "rb") as f:
            f.seek(MIB)
            f.read(1000)
        self.wait_for(lambda: self.inspect("a")["cached_bytes"] > 0, "the copy to the cache")
        info = self.inspect("a")
        self.assertTrue(all(start <= MIB + 1000 and start % (128 * 1024) == 0 for start, end in info["ranges"]))
        self.assertTrue(any(start <= MIB < end for start, end in info["ranges"]))
        human = run("inspect", os.path.join(self.mnt, "a")).stdout
        self.assertIn("map", human)
        self.assertIn("#", human)

    def test_prefetch_then_offline_read(self):
        out = run("prefetch", self.mnt).stdout
        self.assertIn("prefetched 3 files", out)
        for rel, data in self.files.items():
            self.assertEqual(self.inspect(rel)["cached_bytes"], len(data), rel)
        self.umount()
        self.mount("--offline")
        for rel, data in self.files.items():
            self.assertEqual(self.read_mounted(rel), data)
        self.assertEqual(self.stats()["bytes_from_origin"], 0)

    def test_invalidate_a_tree_then_reread_from_the_origin(self):
        run("prefetch", self.mnt)
        run("invalidate", os.path.join(self.mnt, "dir"))
        self.assertEqual(self.inspect("dir/b")["cached_bytes"], 0)
        self.assertEqual(self.inspect("dir/sub/c")["cached_bytes"], 0)
        self.assertEqual(self.inspect("a")["cached_bytes"], len(self.files["a"]))
        before = self.stats()["bytes_from_origin"]
        self.assertEqual(self.read_mounted("dir/b"), self.files["dir/b"])
        self.assertGreaterEqual(self.stats()["bytes_from_origin"] - before, len(self.files["dir/b"]))

    def test_pin_survives_cull_and_unpin_releases(self):
        run("pin", os.path.join(self.mnt, "dir", "b"))
        self.assertTrue(self.inspect("dir/b")["pinned"])
        self.assertEqual(self.inspect("dir/b")["cached_bytes"], MIB)  # Fetched whole.
        run("prefetch", os.path.join(self.mnt, "a"))
        out = run("cull", self.mnt, "--to", "0").stdout
        self.assertIn("freed", out)
        self.assertEqual(self.inspect("a")["cached_bytes"], 0)
        self.assertEqual(self.inspect("dir/b")["cached_bytes"], MIB)
        run("unpin", os.path.join(self.mnt, "dir", "b"))
        run("cull", self.mnt, "--to", "0")
        self.assertEqual(self.inspect("dir/b")["cached_bytes"], 0)

    def test_cache_ls_du_clear_without_a_mount(self):
        run("prefetch", self.mnt)
        self.umount()
        listing = json.loads(run("cache", "ls", "--cache-dir", self.cache, "--json").stdout)
        self.assertEqual(sorted(e["key"] for e in listing), sorted(self.files))
        for e in listing:
            self.assertEqual(e["cached_bytes"], len(self.files[e["key"]]))
            self.assertTrue(e["volume"].startswith("posix:"))
        du = json.loads(run("cache", "du", "--cache-dir", self.cache, "--json").stdout)
        self.assertEqual(du["files"], 3)
        measured = int(subprocess.run(["du", "-s", "-B1", self.cache], capture_output=True, text=True).stdout.split()[0])
        self.assertAlmostEqual(du["bytes"], measured, delta=measured * 0.01)
        run("cache", "clear", "--cache-dir", self.cache)
        self.assertEqual(json.loads(run("cache", "ls", "--cache-dir", self.cache, "--json").stdout), [])

    def test_cache_clear_refuses_a_cache_in_use(self):
        result = run("cache", "clear", "--cache-dir", self.cache, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("in use", result.stderr)

    def test_stat_watch_and_cached_xattr(self):
        self.read_mounted("dir/sub/c")
        lines = run("stat", self.mnt, "--watch", "--count", "2", "--interval", "0.1", "--json").stdout.splitlines()
        self.assertEqual(len(lines), 2)
        for line in lines:
            self.assertIn("bytes_from_origin", json.loads(line))
        self.wait_for(lambda: int(os.getxattr(os.path.join(self.mnt, "dir/sub/c"), "user.netcache.cached")) ==
                      len(self.files["dir/sub/c"]), "the cached xattr")

    def test_prometheus_metrics(self):
        import socket
        import urllib.request
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.umount()
        self.mount("--metrics-listen", f"127.0.0.1:{port}")
        self.assertEqual(self.read_mounted("a"), self.files["a"])
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        self.assertEqual(samples['netcache_read_bytes_total{source="origin"}'], len(self.files["a"]))
        self.assertEqual(samples['netcache_hit_ratio{by="bytes"}'], 0)
        self.assertGreater(samples["netcache_origin_latency_seconds_count"], 0)
        self.assertEqual(samples['netcache_origin_latency_seconds_bucket{le="+Inf"}'],
                         samples["netcache_origin_latency_seconds_count"])
        self.assertIn("# TYPE netcache_origin_latency_seconds histogram", text)
        with self.assertRaises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)

    def test_revalidate_rechecks_open_files_and_keeps_unchanged_data(self):
        self.umount()
        self.mount("--attr-timeout", "60")
        held = {rel: open(os.path.join(self.mnt, rel), "rb") for rel in ("a", "dir/b")}
        try:
            for f in held.values():
                f.read()
            self.wait_for(lambda: self.inspect("dir/b")["cached_bytes"] == MIB, "the copy to the cache")
            new_b = random_bytes(MIB, 99)
            self.write_origin("dir/b", new_b)
            os.utime(os.path.join(self.origin, "dir/b"), ns=(0, 10**18))
            result = json.loads(run("revalidate", self.mnt, "--json").stdout)
            self.assertGreaterEqual(result["checked"], 2)
            self.assertEqual(result["changed"], 1)
            self.assertEqual(result["failed"], 0)
            self.assertEqual(self.inspect("a")["cached_bytes"], len(self.files["a"]))  # Kept.
            self.assertEqual(self.inspect("dir/b")["cached_bytes"], 0)                # Dropped.
            self.assertIn("checked", run("revalidate", self.mnt, "--older-than", "3600").stdout)
        finally:
            for f in held.values():
                f.close()

    def test_commands_refuse_paths_outside_mounts(self):
        for args in (["inspect", self.origin + "/a"], ["invalidate", self.origin], ["cull", self.origin, "--to", "0"]):
            result = run(*args, check=False)
            self.assertNotEqual(result.returncode, 0, args)
            self.assertIn("netcache", result.stderr)


if __name__ == "__main__":
    unittest.main()
