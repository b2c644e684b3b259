# SPDX-License-Identifier: MIT
"""The HTTP(S) origin against a real nginx started here on 127.0.0.1, through real mounts."""
import errno
import hashlib
import os
import random
import shutil
import subprocess
import time
import unittest

from fault_proxy import FaultProxy
from harness import MountTestCase, random_bytes, run
from nginx import Nginx

FOLIO = 128 * 1024
GIB = 1024 ** 3
ODD_NAMES = ["with space.txt", "ünïcødé-ファイル.bin", "percent%41%2F.txt", "hash#tag.txt",
             "question?.txt", "amp&and'quote.txt"]


class HttpTestCase(MountTestCase):
    attr_timeout = "0.3"

    def setUp(self):
        super().setUp()
        self.nginx = Nginx(self.origin, self.scratch)
        self.proxy = None

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if self.proxy:
                self.proxy.stop()
            self.nginx.stop()

    def mount_url(self, url, *extra):
        mnt = self.mnt
        timeout = [] if "--attr-timeout" in extra else ["--attr-timeout", self.attr_timeout]
        run("mount", url, mnt, "--cache-dir", self.cache, *timeout, *extra)
        self.mounted.append(mnt)
        self.assertTrue(os.path.ismount(mnt))
        return mnt


class HttpReadTest(HttpTestCase):
    def make_tree(self):
        files = {
            "empty": b"",
            "small": b"hello over http\n",
            "odd": random_bytes(3 * FOLIO + 999, 1),
            "d1/d2/deep": random_bytes(2 * 1024 * 1024 + 17, 2),
            "d1/big": random_bytes(12 * 1024 * 1024 + 5, 3),
        }
        for i, name in enumerate(ODD_NAMES):
            files["names/" + name] = random_bytes(1000 + i, 10 + i)
        for rel, data in files.items():
            self.write_origin(rel, data)
        with open(os.path.join(self.origin, "huge-sparse"), "wb") as f:
            f.seek(4 * GIB + 100)
            f.write(random_bytes(5000, 4))
        return files

    def check_tree(self, files):
        for rel, data in files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        for dirpath, dirnames, filenames in os.walk(self.origin):
            rel = os.path.relpath(dirpath, self.origin)
            self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, rel))),
                             sorted(dirnames + filenames), rel)

    def test_html_listing_mount_is_byte_exact(self):
        files = self.make_tree()
        self.nginx.start()
        self.mount_url(self.nginx.url)
        self.check_tree(files)
        self.assertEqual(os.path.getsize(os.path.join(self.mnt, "huge-sparse")), 4 * GIB + 5100)

    def test_json_listing_mount_is_byte_exact(self):
        files = self.make_tree()
        self.nginx.start()
        self.mount_url(self.nginx.url + "json/")
        self.check_tree(files)

    def test_thousands_of_random_ranges(self):
        self.make_tree()
        self.nginx.start()
        self.mount_url(self.nginx.url)
        rng = random.Random(7)
        names = ["odd", "d1/d2/deep", "d1/big", "huge-sparse"]
        fds = {n: (os.open(os.path.join(self.origin, n), os.O_RDONLY),
                   os.open(os.path.join(self.mnt, n), os.O_RDONLY)) for n in names}
        try:
            for _ in range(2000):
                name = rng.choice(names)
                size = os.path.getsize(os.path.join(self.origin, name))
                if name == "huge-sparse" and rng.random() < 0.6:
                    pos = max(0, 4 * GIB + rng.randrange(-3000, 6000))
                else:
                    pos = rng.randrange(size + 10)
                length = rng.randrange(1, 300 * 1024)
                self.assertEqual(os.pread(fds[name][1], length, pos), os.pread(fds[name][0], length, pos),
                                 f"{name} {pos} {length}")
        finally:
            for a, b in fds.values():
                os.close(a)
                os.close(b)

    def test_files_are_found_when_listings_are_off(self):
        files = self.make_tree()
        self.nginx.start()
        self.mount_url(self.nginx.url + "nolist/")
        for rel in ["small", "d1/d2/deep", "names/" + ODD_NAMES[1]]:
            self.assertEqual(self.read_mounted(rel), files[rel])
        with self.assertRaises(OSError):
            os.listdir(self.mnt)  # 403: an error, not an empty directory.

    def test_missing_file_is_enoent(self):
        self.write_origin("a", b"a")
        self.nginx.start()
        self.mount_url(self.nginx.url)
        with self.assertRaises(FileNotFoundError):
            open(os.path.join(self.mnt, "nope"), "rb")

    def test_remount_serves_from_cache_after_a_cheap_revalidation(self):
        data = random_bytes(6 * 1024 * 1024, 5)
        self.write_origin("f", data)
        self.nginx.start()
        self.mount_url(self.nginx.url)
        self.assertEqual(self.read_mounted("f"), data)
        self.umount()
        self.mount_url(self.nginx.url)
        self.assertEqual(self.read_mounted("f"), data)
        stats = self.stats()
        self.assertEqual(stats["bytes_from_origin"], 0)
        self.assertEqual(stats["bytes_from_cache"], len(data))

    def test_readahead_window_is_one_request_per_connection(self):
        # A request waits a round trip for its first byte: the window is cut into one request
        # per connection so all of it is in flight (16 MiB over 2 connections: 8 MiB requests).
        data = random_bytes(48 * 1024 * 1024, 6)
        self.write_origin("f", data)
        self.nginx.start()
        counts = {}
        for connections in (2, 8):
            shutil.rmtree(self.cache, ignore_errors=True)
            self.mount_url(self.nginx.url, "--readahead", "16M", "--max-connections", str(connections))
            self.assertEqual(self.read_mounted("f"), data)
            counts[connections] = self.stats()["origin_reads"]
            self.umount()
        self.assertLessEqual(counts[2], 14, counts)  # 6 of 8 MiB, and the window's ramp-up.
        self.assertGreaterEqual(counts[8], 24, counts)  # At most 2 MiB each.

    def test_listing_changes_are_picked_up(self):
        self.write_origin("a", b"a")
        self.nginx.start()
        self.mount_url(self.nginx.url)
        self.assertEqual(os.listdir(self.mnt), ["a"])
        self.write_origin("b", b"bb")
        time.sleep(0.5)
        self.assertEqual(sorted(os.listdir(self.mnt)), ["a", "b"])
        self.assertEqual(self.read_mounted("b"), b"bb")

    def test_file_replaced_mid_read_is_never_mixed(self):
        old = random_bytes(16 * FOLIO, 6)
        new = random_bytes(16 * FOLIO, 7)
        path = self.write_origin("f", old)
        self.nginx.start()
        self.mount_url(self.nginx.url, "--memory-limit", "1M")
        got = b""
        error = None
        with open(os.path.join(self.mnt, "f"), "rb", buffering=0) as f:
            got += f.read(2 * FOLIO)
            tmp = path + ".tmp"
            with open(tmp, "wb") as t:
                t.write(new)
            # nginx's validators have one-second resolution: make the new version's differ.
            st = os.stat(path)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
            os.rename(tmp, path)
            try:
                while True:
                    chunk = f.read(FOLIO)
                    if not chunk:
                        break
                    got += chunk
            except OSError as e:
                error = e
        if error is None:
            self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(old).hexdigest())
        else:
            self.assertEqual(error.errno, errno.EIO)
            self.assertEqual(got, old[:len(got)])
        time.sleep(0.5)
        self.assertEqual(self.read_mounted("f"), new)

    def test_a_file_grown_after_a_listing_reads_whole(self):
        """Issue 15.2b: the kernel read up to the size a listing gave it, so a file that grew
        between `ls -l` and `cat` read as the new content cut at the old size."""
        old = random_bytes(3 * FOLIO + 5, 12)
        path = self.write_origin("d/f", old)
        self.nginx.start()
        self.mount_url(self.nginx.url, "--attr-timeout", "30")
        # As `ls -l`: the listing's sizes, no request per file; the kernel now holds the old size.
        self.assertEqual(os.listdir(os.path.join(self.mnt, "d")), ["f"])
        listed = os.stat(os.path.join(self.mnt, "d/f"))
        self.assertEqual(listed.st_size, len(old))
        new = old + random_bytes(2 * FOLIO, 13)
        with open(path, "ab") as f:
            f.write(new[len(old):])
        st = os.stat(path)  # nginx's validators have one-second resolution.
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
        self.assertEqual(self.read_mounted("d/f"), new)
        self.assertEqual(os.stat(os.path.join(self.mnt, "d/f")).st_size, len(new))

    def test_bad_urls_are_clear_errors(self):
        self.nginx.start()
        for url, fragment in [(f"http://127.0.0.1:{self.nginx.port + 1 if self.nginx.port < 65535 else 1}/", "cannot use"),
                              ("http:///nohost", "no host"),
                              (self.nginx.url + "does-not-exist/", "HTTP 404"),
                              ("ftp://example.invalid/", "only http")]:
            result = run("mount", url, self.mnt, "--cache-dir", self.cache, check=False)
            self.assertNotEqual(result.returncode, 0, url)
            self.assertIn(fragment, result.stderr, url)
            self.assertFalse(os.path.ismount(self.mnt))

    def test_credentials_come_from_a_file_are_sent_and_never_shown(self):
        self.write_origin("f", b"secret stuff")
        self.nginx.start()
        url = self.nginx.url + "auth/"
        result = run("mount", url, self.mnt, "--cache-dir", self.cache, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("HTTP 401", result.stderr)
        header_file = os.path.join(self.scratch, "headers")
        with open(header_file, "w") as f:
            f.write("# token for the test server\nAuthorization: Bearer s3cr3t-token\n")
        log = os.path.join(self.scratch, "daemon.log")
        self.mount_url(url, "--header-file", header_file, "--log-file", log, "--debug")
        self.assertEqual(self.read_mounted("f"), b"secret stuff")
        with open(f"/proc/{self.daemon_pid()}/cmdline", "rb") as f:
            self.assertNotIn(b"s3cr3t", f.read())
        self.umount()
        with open(log) as f:
            text = f.read()
        self.assertIn("mounted", text)
        self.assertNotIn("s3cr3t", text)
        # The environment works too.
        env_result = __import__("subprocess").run(
            [__import__("harness").NETCACHE, "mount", url, self.mnt, "--cache-dir", self.cache],
            env={**os.environ, "NETCACHE_HTTP_HEADERS": "Authorization: Bearer s3cr3t-token"},
            capture_output=True, text=True, timeout=60)
        self.assertEqual(env_result.returncode, 0, env_result.stderr)
        self.mounted.append(self.mnt)
        self.assertEqual(self.read_mounted("f"), b"secret stuff")


class HttpMetadataTest(HttpTestCase):
    """Attributes from listings, and revalidation by conditional requests, counted in nginx's log."""

    def setUp(self):
        super().setUp()
        self.files = {f"d{d}/f{i}": random_bytes(100 + 37 * i + d, 100 * d + i)
                      for d in range(3) for i in range(20)}
        an_hour_ago = time.time() - 3600
        for rel, data in self.files.items():
            self.write_origin(rel, data)
            os.utime(os.path.join(self.origin, rel), (an_hour_ago, an_hour_ago))
        self.nginx.start()
        self.log = os.path.join(self.nginx.prefix, "logs", "access.log")

    def log_lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def requests_since(self, mark):
        """(method, path, status) of each request logged after `mark` lines."""
        out = []
        for line in self.log_lines()[mark:]:
            request, status = line.split('"')[1], line.split('"')[2].split()[0]
            method, path = request.split()[:2]
            out.append((method, path, int(status)))
        return out

    def mark(self):
        return len(self.log_lines())

    def check_stat_of_every_file(self):
        """As `ls -lR`: list each directory, then stat what it lists."""
        listed = set()
        for dirpath, _, filenames in os.walk(self.mnt):
            listed.update(os.path.relpath(os.path.join(dirpath, n), self.mnt) for n in filenames)
        self.assertEqual(listed, set(self.files))
        for rel in self.files:
            st = os.stat(os.path.join(self.mnt, rel))
            origin = os.stat(os.path.join(self.origin, rel))
            self.assertEqual(st.st_size, origin.st_size, rel)
            self.assertEqual(int(st.st_mtime) // 60, int(origin.st_mtime) // 60, rel)

    def test_ls_lR_takes_sizes_and_mtimes_from_listings(self):
        for url in [self.nginx.url, self.nginx.url + "json/"]:
            mark = self.mark()
            self.mount_url(url, "--attr-timeout", "60")
            self.check_stat_of_every_file()
            requests = self.requests_since(mark)
            self.assertEqual([r for r in requests[1:] if r[0] != "GET" or not r[1].endswith("/")], [],
                             "only the mount's probe and directory listings may be asked for")
            self.assertEqual(requests[0][:2], ("HEAD", url[url.index("/", 8):]))
            # Listing the root listed d0, d1 and d2 ahead of the walk.
            self.wait_for(lambda: self.stats()["listings_read_ahead"] == 3, "listings read ahead")
            self.umount()

    def test_warm_remount_opens_files_a_listing_vouches_for_without_a_request(self):
        self.mount_url(self.nginx.url, "--attr-timeout", "1")
        for rel, data in self.files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        self.umount()
        time.sleep(1.1)  # Every record older than the attribute timeout: all must be re-checked.
        mark = self.mark()
        self.mount_url(self.nginx.url, "--attr-timeout", "30")
        for d in range(3):
            os.listdir(os.path.join(self.mnt, f"d{d}"))
        for rel, data in self.files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        requests = self.requests_since(mark)
        self.assertEqual([r for r in requests if not r[1].endswith("/")], [],
                         "the listings prove every cached version current")
        self.assertEqual(self.stats()["bytes_from_origin"], 0)

    def test_a_change_the_listing_shows_is_fetched_not_served_from_cache(self):
        self.mount_url(self.nginx.url, "--attr-timeout", "0.3")
        for rel, data in self.files.items():
            self.assertEqual(self.read_mounted(rel), data, rel)
        new = random_bytes(len(self.files["d1/f5"]), 999)  # Same size; the mtime becomes now.
        self.write_origin("d1/f5", new)
        time.sleep(0.4)
        os.listdir(os.path.join(self.mnt, "d1"))
        self.assertEqual(self.read_mounted("d1/f5"), new)
        self.assertEqual(self.read_mounted("d1/f6"), self.files["d1/f6"])

    def requests_after_expiry(self, access):
        """Mounts with a 0.3 s attribute timeout and runs `access`; then, once the attributes
        expired, runs it again on that mount and after a remount. The requests of each rerun."""
        self.mount_url(self.nginx.url, "--attr-timeout", "0.3")
        access()
        reruns = []
        for remount in [False, True]:
            if remount:
                self.umount()
                self.mount_url(self.nginx.url, "--attr-timeout", "0.3")
            time.sleep(0.4)
            mark = self.mark()
            access()
            reruns.append(self.requests_since(mark))
        return reruns

    def test_expired_attributes_are_revalidated_with_a_conditional_request(self):
        origin_bytes = []

        def read():
            self.assertEqual(self.read_mounted("d0/f3"), self.files["d0/f3"])
            origin_bytes.append(self.stats()["bytes_from_origin"])
        for requests in self.requests_after_expiry(read):
            self.assertIn(("HEAD", "/d0/f3", 304), requests)
        self.assertGreater(origin_bytes[0], 0)
        self.assertEqual(origin_bytes[2], 0)  # The remount read all from cache.

    def test_a_known_directory_is_revalidated_at_its_slash_url_in_one_request(self):
        """Its plain name is redirected to the slash URL: two round trips where one does."""
        def access():
            self.assertTrue(os.path.isdir(os.path.join(self.mnt, "d1")))
            self.assertEqual(self.read_mounted("d1/f2"), self.files["d1/f2"])
        for requests in self.requests_after_expiry(access):
            self.assertIn(("HEAD", "/d1/", 200), requests)
            self.assertNotIn(("HEAD", "/d1", 301), requests)

    def test_stat_does_not_change_while_a_file_is_read(self):
        """As tar checks ("file changed as we read it"): ctime and size before and after a read
        agree, though the first came from a listing (mtime to the minute) and the last from the
        server's headers (mtime to the second)."""
        self.mount_url(self.nginx.url, "--attr-timeout", "0.2")
        os.listdir(os.path.join(self.mnt, "d0"))
        path = os.path.join(self.mnt, "d0", "f4")
        before = os.lstat(path)
        with open(path, "rb") as f:
            head = f.read(10)
            time.sleep(0.3)  # Past the attribute timeout: fstat asks the daemon again.
            data = head + f.read()
            after = os.fstat(f.fileno())
        self.assertEqual(data, self.files["d0/f4"])
        self.assertEqual((after.st_size, after.st_ctime_ns), (before.st_size, before.st_ctime_ns))
        self.assertEqual(int(after.st_mtime) // 60, int(before.st_mtime) // 60)
        # Through a pipe: tar skips reading files when its archive is /dev/null itself.
        result = subprocess.run(["bash", "-o", "pipefail", "-c", f"tar cf - -C {self.mnt} d1 d2 | wc -c"],
                                capture_output=True, text=True)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        self.assertGreater(int(result.stdout), sum(len(v) for k, v in self.files.items() if k[:2] in ("d1", "d2")))

    def test_opening_a_cold_file_fetches_its_start_with_its_attributes(self):
        big = random_bytes(3 * 1024 * 1024 + 7, 77)  # Beyond the bytes fetched at open.
        self.write_origin("big", big)
        self.mount_url(self.nginx.url, "--attr-timeout", "30")
        os.listdir(os.path.join(self.mnt, "d2"))
        mark = self.mark()
        self.assertEqual(self.read_mounted("d2/f7"), self.files["d2/f7"])
        self.assertEqual(self.requests_since(mark), [("GET", "/d2/f7", 206)],
                         "a small file: one request for attributes and bytes together")
        self.assertEqual(self.read_mounted("big"), big)
        with open(os.path.join(self.mnt, "big"), "rb") as f:  # And from an offset, fresh handle.
            f.seek(1024 * 1024 - 3)
            self.assertEqual(f.read(10), big[1024 * 1024 - 3:1024 * 1024 + 7])


class HttpFaultTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.data = random_bytes(4 * 1024 * 1024 + 321, 9)
        self.write_origin("f", self.data)
        self.nginx.start()
        self.proxy = FaultProxy(self.nginx.port, stall_seconds=3).start()

    def mount_proxy(self, retries="3"):
        self.mount_url(self.proxy.url, "--timeout", "1", "--retries", retries)

    def check_recovers(self, mode, count):
        self.mount_proxy()
        self.proxy.arm(mode, count)
        self.assertEqual(hashlib.sha256(self.read_mounted("f")).digest(), hashlib.sha256(self.data).digest())
        self.assertGreaterEqual(self.proxy.injected, 1)
        self.assertGreaterEqual(self.stats()["origin_errors"], 1)

    def test_503_burst_is_retried(self):
        self.check_recovers("status:503", 2)

    def test_500_burst_is_retried(self):
        self.check_recovers("status:500", 3)

    def test_reset_mid_body_is_retried(self):
        self.check_recovers("reset", 2)

    def test_body_cut_short_is_retried(self):
        self.check_recovers("short", 2)

    def test_stalled_connection_times_out_and_is_retried(self):
        self.check_recovers("stall", 1)

    def test_wrong_content_range_is_never_served(self):
        self.check_recovers("badrange", 2)

    def test_server_without_range_support_still_gives_correct_bytes(self):
        self.mount_proxy()
        self.proxy.arm("norange", 100000)
        rng = random.Random(3)
        with open(os.path.join(self.mnt, "f"), "rb") as f:
            for _ in range(20):
                pos = rng.randrange(len(self.data))
                f.seek(pos)
                self.assertEqual(f.read(70000), self.data[pos:pos + 70000])
        self.assertEqual(self.read_mounted("f"), self.data)
        self.assertGreater(self.proxy.injected, 0)
        # Fetched whole, once: later reads come from that download, not new ones per range.
        self.assertLessEqual(self.stats()["bytes_from_origin"], 2 * len(self.data))
        self.assertLessEqual(self.proxy.full_gets, 2)
        self.assertLessEqual(self.proxy.injected, 2)  # Ranges are not even tried once it is known.
        self.assertEqual(self.stats()["origin_errors"], 0)

    def test_persistent_failure_is_eio_and_the_daemon_survives(self):
        self.mount_proxy(retries="1")
        self.proxy.arm("status:503", 1000)
        with self.assertRaises(OSError) as caught:
            self.read_mounted("f")
        self.assertEqual(caught.exception.errno, errno.EIO)
        self.proxy.arm("status:503", 0)
        self.assertEqual(self.read_mounted("f"), self.data)
        self.assertGreaterEqual(self.stats()["origin_errors"], 2)




class HttpsTest(HttpTestCase):
    def setUp(self):
        super().setUp()
        self.data = random_bytes(1024 * 1024 + 7, 30)
        self.write_origin("f", self.data)
        self.nginx = Nginx(self.origin, self.scratch, tls=True)
        self.nginx.start()

    def test_verified_with_the_given_ca(self):
        self.mount_url(self.nginx.url, "--ca-file", self.nginx.ca_file)
        self.assertEqual(self.read_mounted("f"), self.data)
        with open(os.path.join(self.nginx.prefix, "logs", "access.log")) as f:
            self.assertIn("HTTP/2.0", f.read())  # The server offers HTTP/2, so it is used.

    def test_unverifiable_server_is_refused_unless_insecure_is_asked_for(self):
        result = run("mount", self.nginx.url, self.mnt, "--cache-dir", self.cache, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("certificate", result.stderr)
        self.assertFalse(os.path.ismount(self.mnt))
        self.mount_url(self.nginx.url, "--insecure")
        self.assertEqual(self.read_mounted("f"), self.data)


class HttpPolicyTest(HttpTestCase):
    """--offline, --stale-if-error, strict mode, and listings kept in the persistent cache."""

    def setUp(self):
        super().setUp()
        self.files = {"a": random_bytes(300 * 1024, 20), "d/b": random_bytes(50 * 1024, 21),
                      "d/e/c": b"deep\n", "uncached": random_bytes(1000, 22)}
        for rel, data in self.files.items():
            self.write_origin(rel, data)
        self.nginx.start()

    def warm(self, *extra):
        self.mount_url(self.nginx.url, *extra)
        for rel in ["a", "d/b", "d/e/c"]:
            self.assertEqual(self.read_mounted(rel), self.files[rel])
        self.assertEqual(sorted(os.listdir(self.mnt)), ["a", "d", "uncached"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, "d"))), ["b", "e"])
        self.assertEqual(os.listdir(os.path.join(self.mnt, "d", "e")), ["c"])

    def test_offline_serves_the_cache_with_nginx_stopped(self):
        self.warm()
        self.umount()
        self.nginx.stop()
        self.mount_url(self.nginx.url, "--offline")
        self.assertEqual(sorted(os.listdir(self.mnt)), ["a", "d", "uncached"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, "d"))), ["b", "e"])
        for rel in ["a", "d/b", "d/e/c"]:
            self.assertEqual(self.read_mounted(rel), self.files[rel])
        # Never fetched, and no network to fetch it: EIO (it is listed, so it exists; issue
        # 15.19), while a name the listing does not show is ENOENT.
        with self.assertRaises(OSError) as caught:
            self.read_mounted("uncached")
        self.assertEqual(caught.exception.errno, errno.EIO)
        with self.assertRaises(OSError) as caught:
            self.read_mounted("never-listed")
        self.assertEqual(caught.exception.errno, errno.ENOENT)
        stats = self.stats()
        self.assertEqual(stats["bytes_from_origin"], 0)
        self.assertGreater(stats["metadata_cache_hits"], 0)

    def test_stale_if_error_serves_cached_versions_when_the_origin_is_gone(self):
        self.warm("--stale-if-error", "3600")
        self.nginx.stop()
        time.sleep(0.5)  # Past the attribute timeout: the next open asks the origin.
        for rel in ["a", "d/b"]:
            self.assertEqual(self.read_mounted(rel), self.files[rel])
        self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, "d"))), ["b", "e"])
        self.assertGreater(self.stats()["served_stale"], 0)

    def test_strict_mode_fails_with_eio_not_enoent_when_the_origin_is_gone(self):
        self.warm()
        self.nginx.stop()
        time.sleep(0.5)
        with self.assertRaises(OSError) as caught:
            self.read_mounted("a")
        self.assertEqual(caught.exception.errno, errno.EIO)  # A failed lookup is not a deletion.
        self.nginx.start(port=self.nginx.port)
        time.sleep(0.5)
        self.assertEqual(self.read_mounted("a"), self.files["a"])

    def test_warm_remount_lists_directories_without_asking_the_server(self):
        self.warm("--attr-timeout", "60")
        self.umount()
        log = os.path.join(self.nginx.prefix, "logs", "access.log")
        before = open(log).read().count("\n")
        self.mount_url(self.nginx.url, "--attr-timeout", "60")
        self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, "d"))), ["b", "e"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.mnt, "d", "e"))), ["c"])
        self.assertEqual(self.read_mounted("d/e/c"), b"deep\n")
        requests = open(log).read().splitlines()[before:]
        # Only the mount's probe of the root reaches the server.
        self.assertLessEqual(len(requests), 1, requests)


if __name__ == "__main__":
    unittest.main()
