# SPDX-License-Identifier: MIT
"""Starts a private nginx on 127.0.0.1 serving a directory, for the HTTP origin tests.

Three views of the same root: "/" with HTML autoindex, "/json/" with autoindex_format json, and
"/nolist/" with listings off. nginx runs from its own prefix with its own pid file, and is
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
    def __init__(self, root, workdir):
        if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"):
            raise AssertionError("nginx is not installed (scripts/install-deps.sh installs it)")
        self.root = root
        self.prefix = os.path.join(workdir, "nginx")
        self.port = None
        self.pid = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def start(self, port=None):
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        self.port = port or free_port()
        p = self.prefix
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
    listen 127.0.0.1:{self.port};
    root {self.root};
    location / {{ autoindex on; }}
    location /json/ {{ alias {self.root}/; autoindex on; autoindex_format json; }}
    location /nolist/ {{ alias {self.root}/; autoindex off; }}
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
