# SPDX-License-Identifier: MIT
"""An HTTP origin that misbehaves on purpose, on 127.0.0.1, for the end-to-end tests.

It serves `files` (name -> bytes, "/" separated paths) with HTML listings of their directories,
ETags and Last-Modified, Range and If-Range, like a well-behaved server. A test then turns on the
lies and the abuse it wants to see netcache survive:
  ignore_if_range      ranged GETs are answered 206 from the current version whatever If-Range
                       says (as varnish 7.1 does)
  range_as_200         names whose ranged GETs get the whole file with 200 (no Range support)
  extra_listed         names put in the directory listings without being served (odd, long)
  endless_listing      listings never end: junk links are streamed until the client gives up
                       (bounded: at most `endless_limit` bytes and 120 s)
  trickle              name -> bytes per second: that file's body is sent that slowly (bounded
                       by 600 s)
  redirect             path prefix -> URL prefix: GETs and HEADs under it are redirected there
Every request is logged in `requests` as (method, path, headers) for the test to inspect. The
server runs in threads of the test's own process and is stopped with stop().
"""
import email.utils
import html
import http.server
import threading
import time
import urllib.parse


class HostileOrigin:
    def __init__(self):
        self.lock = threading.Lock()
        self.files = {}
        self.etags = {}
        self.mtimes = {}
        self.serial = 0
        self.ignore_if_range = False
        self.range_as_200 = set()
        self.extra_listed = []
        self.endless_listing = False
        self.endless_limit = 64 * 1024 * 1024
        self.endless_sent = 0
        self.trickle = {}
        self.redirect = {}
        self.requests = []
        self.closing = threading.Event()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.serve(head=True)

            def do_GET(self):
                self.serve(head=False)

            def serve(self, head):
                with origin.lock:
                    origin.requests.append((self.command, self.path, dict(self.headers.items())))
                path = urllib.parse.unquote(urllib.parse.urlparse(self.path).path)
                for prefix, target in origin.redirect.items():
                    if path.startswith(prefix):
                        return self.reply(302, b"", {"Location": target + path[len(prefix):]}, head)
                if path.endswith("/"):
                    return self.listing(path, head)
                name = path.lstrip("/")
                with origin.lock:
                    data = origin.files.get(name)
                    etag = origin.etags.get(name)
                    mtime = origin.mtimes.get(name)
                if data is None:
                    if any(n.startswith(name + "/") for n in origin.files):
                        return self.reply(301, b"", {"Location": path + "/"}, head)
                    return self.reply(404, b"not found", {}, head)
                headers = {"ETag": etag, "Last-Modified": email.utils.formatdate(mtime, usegmt=True),
                           "Accept-Ranges": "bytes"}
                wanted = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                ranged = (wanted is not None and name not in origin.range_as_200 and
                          (if_range is None or if_range == etag or origin.ignore_if_range))
                if ranged and wanted.startswith("bytes="):
                    first, _, last = wanted[len("bytes="):].partition("-")
                    first = int(first)
                    last = min(int(last) if last else len(data) - 1, len(data) - 1)
                    if first >= len(data):
                        return self.reply(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
                    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
                    return self.reply(206, data[first:last + 1], headers, head, name)
                return self.reply(200, data, headers, head, name)

            def listing(self, path, head):
                prefix = path.lstrip("/")
                with origin.lock:
                    names = set()
                    for name in origin.files:
                        if name.startswith(prefix):
                            rest = name[len(prefix):]
                            names.add(rest.split("/")[0] + ("/" if "/" in rest else ""))
                    names.update(origin.extra_listed if prefix == "" else [])
                    endless = origin.endless_listing
                if not names and prefix != "" and not endless:
                    return self.reply(404, b"not found", {}, head)
                body = "<html><body><h1>Index</h1><pre>\n"
                for name in sorted(names):
                    href = urllib.parse.quote(name)
                    body += f'<a href="{href}">{html.escape(name)}</a>\n'
                if not endless:
                    body += "</pre></body></html>\n"
                    return self.reply(200, body.encode(), {"Content-Type": "text/html"}, head)
                # No Content-Length, no end: the body goes on until the client hangs up.
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if head:
                    return
                deadline = time.monotonic() + 120
                chunk = "".join(f'<a href="junk{i:06d}">junk{i:06d}</a>\n' for i in range(2000)).encode()
                try:
                    self.wfile.write(body.encode())
                    while time.monotonic() < deadline and not origin.closing.is_set():
                        with origin.lock:
                            if origin.endless_sent >= origin.endless_limit:
                                break
                            origin.endless_sent += len(chunk)
                        self.wfile.write(chunk)
                except OSError:
                    pass

            def reply(self, status, body, headers, head, name=None):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head or not body:
                    return
                rate = origin.trickle.get(name) if name else None
                if not rate:
                    try:
                        self.wfile.write(body)
                    except OSError:
                        pass
                    return
                deadline = time.monotonic() + 600
                try:
                    for i in range(len(body)):
                        if time.monotonic() > deadline or origin.closing.is_set():
                            break
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(1.0 / rate)
                except OSError:
                    pass
                self.close_connection = True

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # Clients that hang up mid-reply are what this server is for.

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def put(self, name, data):
        """Creates or replaces a file: a new ETag and Last-Modified each time."""
        with self.lock:
            self.serial += 1
            self.files[name] = data
            self.etags[name] = f'"v{self.serial}"'
            self.mtimes[name] = time.time() - 3600 + self.serial

    def requests_for(self, path, method=None):
        with self.lock:
            return [r for r in self.requests if r[1] == path and (method is None or r[0] == method)]

    def stop(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
