# SPDX-License-Identifier: MIT
"""A small fault-injecting HTTP proxy between netcache and nginx, for the tests.

It forwards GET and HEAD to the upstream. A test arms a fault with
GET /__fault__?mode=MODE&count=N; the next N ranged GETs get it:
  status:CODE   reply CODE with a short body instead of forwarding
  reset         send the headers and half the body, then reset the connection
  short         send the headers (full Content-Length) and half the body, then close
  stall         send the headers and a few bytes, then stall for `stall_seconds`, then close
  badrange      shift the Content-Range start by one byte
  norange       drop the Range and If-Range headers: the whole file comes back with 200
Every ranged GET that got a fault is counted; GET /__faults__ returns the count.
"""
import http.client
import http.server
import socket
import struct
import threading
import time
import urllib.parse


class FaultProxy:
    def __init__(self, upstream_port, stall_seconds=4):
        self.upstream_port = upstream_port
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self.mode = None
        self.remaining = 0
        self.injected = 0
        self.full_gets = 0  # GETs of whole files (no Range header).
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.forward(head=True)

            def do_GET(self):
                if self.path.startswith("/__fault__"):
                    query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                    with proxy.lock:
                        proxy.mode = query["mode"][0]
                        proxy.remaining = int(query.get("count", ["1"])[0])
                    return self.reply_plain(200, b"armed")
                if self.path.startswith("/__faults__"):
                    return self.reply_plain(200, str(proxy.injected).encode())
                self.forward(head=False)

            def reply_plain(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def take_fault(self):
                if "Range" not in self.headers:
                    if self.command == "GET" and not self.path.endswith("/"):
                        with proxy.lock:
                            proxy.full_gets += 1
                    return None
                with proxy.lock:
                    if proxy.remaining <= 0:
                        return None
                    proxy.remaining -= 1
                    proxy.injected += 1
                    return proxy.mode

            def forward(self, head):
                fault = None if head else self.take_fault()
                if fault == "norange":
                    headers_in = {k: v for k, v in self.headers.items()
                                  if k.lower() not in ("connection", "range", "if-range")}
                else:
                    headers_in = None
                if fault and fault.startswith("status:"):
                    self.reply_plain(int(fault.split(":")[1]), b"injected failure\n")
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = headers_in or {k: v for k, v in self.headers.items()
                                         if k.lower() not in ("connection",)}
                upstream.request("HEAD" if head else "GET", self.path, headers=headers)
                response = upstream.getresponse()
                body = b"" if head else response.read()
                self.send_response_only(response.status, response.reason)
                length = response.getheader("Content-Length")
                for name, value in response.getheaders():
                    if name.lower() in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                        continue
                    if fault == "badrange" and name.lower() == "content-range":
                        unit, rest = value.split(" ", 1)
                        first, tail = rest.split("-", 1)
                        value = f"{unit} {int(first) + 1}-{tail}"
                    self.send_header(name, value)
                if not head:
                    self.send_header("Content-Length", str(len(body)))
                elif length is not None:
                    self.send_header("Content-Length", length)
                self.end_headers()
                upstream.close()
                if head:
                    return
                half = len(body) // 2
                if fault == "reset":
                    self.wfile.write(body[:half])
                    self.wfile.flush()
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "short":
                    self.wfile.write(body[:half])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "stall":
                    self.wfile.write(body[:16])
                    self.wfile.flush()
                    time.sleep(proxy.stall_seconds)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # Resets and stalls are what this proxy is for.

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def start(self):
        self.thread.start()
        return self

    def arm(self, mode, count):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", f"/__fault__?mode={mode}&count={count}")
        assert conn.getresponse().read() == b"armed"
        conn.close()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
