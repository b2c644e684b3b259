# SPDX-License-Identifier: MIT
"""Reads through a real mount: byte equality, listings, symlinks, persistence across remounts."""
import hashlib
import os
import random
import shutil
import unittest

from harness import MountTestCase, random_bytes

FOLIO = 128 * 1024
GIB = 1024 ** 3


class ReadTest(MountTestCase):
    def make_tree(self):
        files = {
            "empty": b"",
            "one": b"x",
            "folio-1": random_bytes(FOLIO - 1, 1),
            "folio": random_bytes(FOLIO, 2),
            "folio+1": random_bytes(FOLIO + 1, 3),
            "dir/sub/odd": random_bytes(3 * FOLIO + 4321, 4),
            "dir/big": random_bytes(9 * 1024 * 1024 + 77, 5),
            "name with spaces é": b"utf-8 name\n",
        }
        for rel, data in files.items():
            self.write_origin(rel, data)
        os.symlink("dir/sub/odd", os.path.join(self.origin, "link"))
        # Several GiB, sparse: data islands at the start, across 4 GiB, and at the end.
        sparse = os.path.join(self.origin, "sparse")
        islands = {0: random_bytes(1000, 6), 4 * GIB - 500: random_bytes(1000, 7),
                   5 * GIB - 300: random_bytes(300, 8)}
        with open(sparse, "wb") as f:
            for offset, data in islands.items():
                f.seek(offset)
                f.write(data)
        return files

    def test_whole_files_listings_and_links_match_the_origin(self):
        files = self.make_tree()
        self.mount()
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        for dirpath, dirnames, filenames in os.walk(self.origin):
            rel = os.path.relpath(dirpath, self.origin)
            mounted = os.path.join(self.mnt, rel)
            self.assertEqual(sorted(os.listdir(mounted)), sorted(dirnames + filenames), rel)
            for name in filenames:
                want = os.lstat(os.path.join(dirpath, name))
                got = os.lstat(os.path.join(mounted, name))
                self.assertEqual(got.st_size, want.st_size, name)
                self.assertEqual(got.st_mtime_ns, want.st_mtime_ns, name)
        self.assertEqual(os.readlink(os.path.join(self.mnt, "link")), "dir/sub/odd")
        self.assertEqual(self.read_mounted("link"), files["dir/sub/odd"])
        self.assertEqual(os.stat(os.path.join(self.mnt, "sparse")).st_size, 5 * GIB)

    def test_thousands_of_random_ranges_match_the_origin(self):
        self.make_tree()
        self.mount()
        rng = random.Random(42)
        names = ["folio-1", "folio+1", "dir/sub/odd", "dir/big", "sparse"]
        handles = {n: (open(os.path.join(self.origin, n), "rb"), open(os.path.join(self.mnt, n), "rb"))
                   for n in names}
        try:
            for i in range(3000):
                name = rng.choice(names)
                size = os.path.getsize(os.path.join(self.origin, name))
                if name == "sparse" and rng.random() < 0.7:
                    # Mostly near the islands and EOF, where the interesting bytes are.
                    pos = rng.choice([0, 4 * GIB - 600, 5 * GIB - 400, 5 * GIB - 10]) + rng.randrange(200)
                else:
                    pos = rng.randrange(size + 100)
                length = rng.randrange(1, 400 * 1024)
                want = os.pread(handles[name][0].fileno(), length, pos)
                got = os.pread(handles[name][1].fileno(), length, pos)
                self.assertEqual(got, want, f"{name} pos={pos} len={length}")
        finally:
            for a, b in handles.values():
                a.close()
                b.close()

    def test_second_mount_serves_from_the_persistent_cache(self):
        data = random_bytes(6 * 1024 * 1024 + 3, 9)
        self.write_origin("f", data)
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        cold = self.stats()
        self.assertGreaterEqual(cold["bytes_from_origin"], len(data))
        self.assertEqual(cold["bytes_from_cache"], 0)
        self.umount()  # Waits for the daemon, so every copy to the cache has finished.
        self.mount()
        self.assertEqual(self.read_mounted("f"), data)
        warm = self.stats()
        self.assertEqual(warm["bytes_from_origin"], 0)
        self.assertEqual(warm["bytes_from_cache"], len(data))
        self.assertEqual(warm["origin_reads"], 0)

    def test_stat_json_has_every_counter(self):
        self.write_origin("f", b"abc")
        self.mount()
        self.read_mounted("f")
        stats = self.stats()
        for key in ["bytes_from_cache", "bytes_from_origin", "bytes_zero_filled", "cache_writes",
                    "cache_write_bytes", "cache_write_errors", "invalidations", "folios_resident",
                    "folios_reclaimed", "origin_errors"]:
            self.assertIn(key, stats)
            self.assertIsInstance(stats[key], int)
        self.assertEqual(stats["bytes_from_origin"], 3)
        human = __import__("harness").run("stat", self.mnt).stdout
        self.assertIn("bytes_from_origin", human)

    def test_memory_limit_is_kept_while_streaming(self):
        data = random_bytes(40 * 1024 * 1024, 10)
        self.write_origin("f", data)
        self.mount("--memory-limit", "4M")
        self.assertEqual(hashlib.sha256(self.read_mounted("f")).digest(), hashlib.sha256(data).digest())
        stats = self.stats()
        self.assertGreater(stats["folios_reclaimed"], 100)
        self.assertLessEqual(stats["folios_resident"], stats["folio_limit"] + 70)

    def test_a_large_file_read_at_random_is_fetched_whole_unless_it_is_past_the_bound(self):
        # 160 MiB, past the 128 MiB that the second random read fetches whole, sparse with
        # data islands: 1/128 of it (ten folios) read at random sets off the whole-file fetch.
        size = 160 * 1024 * 1024
        islands = {i * 10 * 1024 * 1024 + 777: random_bytes(5000, 20 + i) for i in range(16)}
        path = os.path.join(self.origin, "large")
        with open(path, "wb") as f:
            f.truncate(size)
            for offset, data in islands.items():
                f.seek(offset)
                f.write(data)
        with open(path, "rb") as f:
            want = f.read()
        rng = random.Random(7)
        positions = [rng.randrange(size // FOLIO) * FOLIO + rng.randrange(FOLIO - 4096) for _ in range(40)]
        positions += [offset - 100 for offset in islands]

        def read_at_random():
            with open(os.path.join(self.mnt, "large"), "rb") as f:
                for pos in positions:
                    self.assertEqual(os.pread(f.fileno(), 4096, pos), want[pos:pos + 4096], pos)

        self.mount("--prefetch-random-max", "100M")
        read_at_random()
        stats = self.stats()
        self.assertEqual(stats["background_fetches"], 0)
        self.assertLess(stats["bytes_from_origin"], 100 * FOLIO)
        self.umount()

        shutil.rmtree(self.cache)
        self.mount()
        read_at_random()
        self.wait_for(lambda: self.stats()["bytes_from_origin"] >= size, "the whole-file fetch")
        self.assertEqual(self.stats()["background_fetches"], 1)
        self.assertEqual(hashlib.sha256(self.read_mounted("large")).digest(), hashlib.sha256(want).digest())
        self.umount()  # Waits for the copies to the cache: a remount reads nothing from the origin.
        self.mount()
        read_at_random()
        self.assertEqual(self.stats()["bytes_from_origin"], 0)


if __name__ == "__main__":
    unittest.main()
