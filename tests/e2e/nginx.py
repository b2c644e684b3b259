# SPDX-License-Identifier: MIT
"""Starts a private nginx on 127.0.0.1 serving a directory, for the HTTP origin tests.

Four views of the same root: "/" with HTML autoindex, "/json/" with autoindex_format json,
"/nolist/" with listings off, and "/auth/" that answers 401 without
"Authorization: Bearer s3cr3t-token". nginx runs from its own prefix with its own pid file, and is
stopped by that pid; nothing of the system's nginx is touched.
"""
import os
import shutil
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, root, workdir, tls=False):
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            raise AssertionError("nginx is not installed (scripts/install-deps.sh installs it)")
        self.root = root
        self.prefix = os.path.join(workdir, "nginx")
        self.port = None
        self.pid = None
        self.tls = tls
        self.ca_file = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def start(self, port=None):
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        self.port = port or free_port()
        p = self.prefix
        listen = f"listen 127.0.0.1:{self.port};"
        if self.tls:
            self.make_certificate()
            listen = (f"listen 127.0.0.1:{self.port} ssl http2;\n    ssl_certificate {p}/server.crt;\n"
                      f"    ssl_certificate_key {p}/server.key;")
        conf = f"""
user root;
worker_processes 2;
pid {p}/nginx.pid;
error_log {p}/logs/error.log;
events {{ worker_connections 256; }}
http {{
  access_log {p}/logs/access.log;
  client_body_temp_path {p}/tmp/body;
  proxy_temp_path {p}/tmp/proxy;
  fastcgi_temp_path {p}/tmp/fastcgi;
  uwsgi_temp_path {p}/tmp/uwsgi;
  scgi_temp_path {p}/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  server {{
    {listen}
    root {self.root};
    location / {{ autoindex on; }}
    location /json/ {{ alias {self.root}/; autoindex on; autoindex_format json; }}
    location /nolist/ {{ alias {self.root}/; autoindex off; }}
    location /auth/ {{
      alias {self.root}/;
      autoindex on;
      if ($http_authorization != "Bearer s3cr3t-token") {{ return 401; }}
    }}
  }}
}}
"""
        with open(os.path.join(p, "nginx.conf"), "w") as f:
            f.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run([nginx, "-p", p, "-e", f"{p}/logs/error.log", "-c", f"{p}/nginx.conf"],
                       check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(p, "nginx.pid")) as f:
                    self.pid = int(f.read().strip())
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except (OSError, ValueError):
                time.sleep(0.05)
        raise AssertionError("nginx did not start: " + open(os.path.join(p, "logs/error.log")).read())

    def make_certificate(self):
        """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
        p = self.prefix
        self.ca_file = f"{p}/ca.crt"

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{p}/ca.key", "-out",
                self.ca_file, "-days", "2", "-subj", "/CN=netcache test CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{p}/server.key", "-out",
                f"{p}/server.csr", "-subj", "/CN=127.0.0.1")
        with open(f"{p}/san.ext", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", f"{p}/server.csr", "-CA", self.ca_file, "-CAkey", f"{p}/ca.key",
                "-CAcreateserial", "-out", f"{p}/server.crt", "-days", "2", "-extfile", f"{p}/san.ext")

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGQUIT)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None
