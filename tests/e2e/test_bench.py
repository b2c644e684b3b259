# SPDX-License-Identifier: MIT
"""The benchmark suite's latency proxy (bench/latency_proxy.cc) against a real nginx: the
suite's 20 ms figures are only as good as the proxy, so its bytes and its delay are checked."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import random_bytes
from nginx import Nginx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from latency_proxy import LatencyProxy  # noqa: E402


class LatencyProxyTest(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.mkdtemp(prefix="nc-proxy-")
        root = os.path.join(self.scratch, "root")
        os.makedirs(root)
        self.data = random_bytes(8 * 1024 * 1024 + 3, 1)
        with open(os.path.join(root, "f"), "wb") as f:
            f.write(self.data)
        self.nginx = Nginx(root, self.scratch).start()
        self.proxy = None

    def tearDown(self):
        if self.proxy:
            self.proxy.stop()
        self.nginx.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def fetch(self, *curl_args):
        url = f"http://127.0.0.1:{self.proxy.port}/f"
        return subprocess.run(["curl", "-sf", *curl_args, url], capture_output=True, check=True).stdout

    def test_bytes_pass_unchanged_and_no_sooner_than_a_round_trip(self):
        for link in (None, 250):
            self.proxy = LatencyProxy(self.nginx.port, 30, link).start()
            self.assertEqual(self.fetch(), self.data)
            self.assertEqual(self.fetch("-r", "1000-99999"), self.data[1000:100000])
            start = time.monotonic()
            self.assertEqual(self.fetch("-r", "0-0"), self.data[:1])
            # A lower bound only (a slow machine can only add to it): connect, then request and
            # answer each cross the proxy once, half the round trip each way.
            self.assertGreaterEqual(time.monotonic() - start, 0.030)
            self.proxy.stop()
            self.proxy = None

    def test_a_connection_has_at_most_a_window_in_flight(self):
        # TCP's window: a connection may have a window unacknowledged, and an ack comes back a
        # round trip after the data left, so 8 MiB through a 1 MiB window takes at least eight
        # round trips (a lower bound again). Without the window, one round trip or two.
        self.proxy = LatencyProxy(self.nginx.port, 30, window_kib=1024).start()
        self.assertEqual(self.proxy.window_kib, 1024)
        start = time.monotonic()
        self.assertEqual(self.fetch(), self.data)
        self.assertGreaterEqual(time.monotonic() - start, 8 * 0.030)
        self.proxy.stop()
        self.proxy = LatencyProxy(self.nginx.port, 30).start()
        self.assertGreater(self.proxy.window_kib, 0, "the machine's TCP window is the default")

    def test_a_client_hanging_up_mid_response_does_not_stop_the_proxy(self):
        self.proxy = LatencyProxy(self.nginx.port, 2).start()
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", self.proxy.port)) as s:
                s.sendall(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(65536))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            # Closed with a reset while the proxy still has most of the file to send.
        time.sleep(0.1)
        self.assertIsNone(self.proxy.process.poll(), "the proxy died")
        self.assertEqual(self.fetch(), self.data)


if __name__ == "__main__":
    unittest.main()
