"""Debian's nginx on 127.0.0.1 with the kit's own configuration (deploy/nginx/), for the tests.

`served_nginx(upstream, directory)` renders the kit's files into `directory`, changing only
the machine-specific values each of them names (the app's address, the cache, log and
static paths, the listening ports, the certificate), and runs nginx with Debian's own
/etc/nginx/nginx.conf turned into a private copy (its includes, logs and pid pointed into
`directory`). So what runs here is the text a server gets, not a copy of it: a change to a
kit file is a change to what the tests check, and a kit file that no longer has a value the
test replaces makes the test fail loudly instead of testing something else.

`tls=False` (plain HTTP, the default) puts the kit's server snippet (koalicja-app.conf) in a
server block that listens on a loopback port; `tls=True` runs the whole site file
(koalicja-site.conf: the redirect on port 80 and HTTPS with a throw-away self-signed
certificate) on two loopback ports.
"""
import contextlib
import functools
import http.client
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .conftest import free_port
from .served import Visitor, _NoRedirects, stop_process

PROJECT = Path(__file__).resolve().parents[1]
KIT = PROJECT / "deploy" / "nginx"
DEBIAN_MAIN_CONFIG = Path("/etc/nginx/nginx.conf")

MISSING_NGINX = (
    "Brak nginx: zainstaluj pakiet Debiana 'nginx' (apt-get install nginx), "
    "inaczej testy konfiguracji nginx z deploy/nginx/ zostaną pominięte."
)


def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None or not DEBIAN_MAIN_CONFIG.is_file():
        return None
    return found


def render(text, replacements, name):
    """Replace each (old, new) in `text`; every `old` must be there (the kit changed otherwise)."""
    for old, new in replacements:
        if old not in text:
            raise AssertionError(f"deploy/nginx/{name} no longer contains {old!r}: update tests/nginx.py with the kit")
        text = text.replace(old, new)
    return text


def _main_config(directory):
    """Debian's nginx.conf, with everything that points at the system's nginx pointed into `directory`."""
    text = DEBIAN_MAIN_CONFIG.read_text()
    user = "user root;" if os.geteuid() == 0 else ""  # pytest's temporary folders are private to us
    text = render(
        text,
        [
            ("user www-data;", user),
            ("worker_processes auto;", "worker_processes 1;"),
            ("pid /run/nginx.pid;", ""),  # given on the command line
            ("error_log /var/log/nginx/error.log;", f"error_log {directory}/error.log;"),
            ("access_log /var/log/nginx/access.log;", f"access_log {directory}/access-other.log;"),
            ("include /etc/nginx/conf.d/*.conf;", f"include {directory}/conf.d/*.conf;"),
            ("include /etc/nginx/sites-enabled/*;", f"include {directory}/sites-enabled/*;"),
        ],
        "../../etc/nginx/nginx.conf",
    )
    temp = directory / "temp"
    paths = "\n".join(
        f"{kind}_temp_path {temp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return text, paths


def _self_signed_certificate(directory, name):
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )
    return certificate, key


@dataclass
class Nginx:
    base_url: str          # plain HTTP (tls=False), or the HTTPS address (tls=True)
    http_url: str          # the plain-HTTP port (with tls=True: the one that redirects)
    directory: Path

    @property
    def access_log(self):
        return (self.directory / "access.log").read_text()

    @property
    def error_log(self):
        path = self.directory / "error.log"
        return path.read_text() if path.exists() else ""


def render_kit(directory, upstream_port, tls=False, server_name="koalicja.example.org"):
    """Write the kit's files, rendered for this machine, and a main config into `directory`.

    Returns (config_path, http_port, https_port or None).
    """
    directory = Path(directory)
    for sub in ("conf.d", "sites-enabled", "temp", "cache", "www"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    main, temp_paths = _main_config(directory)
    (directory / "nginx.conf").write_text(main)

    http_conf = render(
        (KIT / "koalicja-http.conf").read_text(),
        [
            ("server 127.0.0.1:8000 ", f"server 127.0.0.1:{upstream_port} "),
            ("proxy_cache_path /var/cache/nginx/koalicja ", f"proxy_cache_path {directory}/cache "),
        ],
        "koalicja-http.conf",
    )
    (directory / "conf.d" / "00-test-temp-paths.conf").write_text(temp_paths + "\n")
    (directory / "conf.d" / "koalicja.conf").write_text(http_conf)

    app_conf = render(
        (KIT / "koalicja-app.conf").read_text(),
        [
            ("access_log /var/log/nginx/koalicja.access.log ", f"access_log {directory}/access.log "),
            ("alias /srv/koalicja/static/;", f"alias {PROJECT}/static/;"),
            ("alias /srv/koalicja/static/$koalicja_static_file;", f"alias {PROJECT}/static/$koalicja_static_file;"),
        ],
        "koalicja-app.conf",
    )
    (directory / "koalicja-app.conf").write_text(app_conf)

    http_port = free_port()
    https_port = None
    if not tls:
        site = f"server {{\n    listen 127.0.0.1:{http_port};\n    include {directory}/koalicja-app.conf;\n}}\n"
    else:
        https_port = free_port()
        certificate, key = _self_signed_certificate(directory / "tls", server_name)
        site = render(
            (KIT / "koalicja-site.conf").read_text(),
            [
                ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
                ("    listen [::]:80;\n", ""),  # a container may have no IPv6 loopback
                ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https_port} ssl http2;\n"),
                ("    listen [::]:443 ssl http2;\n", ""),
                ("/etc/letsencrypt/live/koalicja.example.org/fullchain.pem", str(certificate)),
                ("/etc/letsencrypt/live/koalicja.example.org/privkey.pem", str(key)),
                ("root /var/www/html;", f"root {directory}/www;"),
                ("include /etc/nginx/snippets/koalicja-app.conf;", f"include {directory}/koalicja-app.conf;"),
            ],
            "koalicja-site.conf",
        )
    (directory / "sites-enabled" / "koalicja").write_text(site)
    return directory / "nginx.conf", http_port, https_port


def _command(binary, directory, config, *extra):
    return [binary, "-p", f"{directory}/", "-c", str(config), "-e", f"{directory}/error.log",
            "-g", f"pid {directory}/nginx.pid;", *extra]


def check_config(binary, directory, config):
    """`nginx -t` on the rendered configuration; returns (ok, output)."""
    completed = subprocess.run(_command(binary, directory, config, "-t"), capture_output=True, text=True)
    return completed.returncode == 0, completed.stdout + completed.stderr


@contextlib.contextmanager
def served_nginx(upstream, directory, tls=False):
    """nginx in front of `upstream` ("http://127.0.0.1:PORT"); yields an `Nginx`."""
    binary = nginx_binary()
    assert binary, MISSING_NGINX
    directory = Path(directory)
    upstream_port = int(upstream.rsplit(":", 1)[1])
    config, http_port, https_port = render_kit(directory, upstream_port, tls=tls)
    ok, output = check_config(binary, directory, config)
    assert ok, f"nginx -t failed for the kit's configuration:\n{output}"
    with (directory / "nginx.stderr").open("wb") as stderr:
        process = subprocess.Popen(
            _command(binary, directory, config, "-g", "daemon off;"), stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        for port in filter(None, (http_port, https_port)):
            _wait_for_port(port, process, directory)
        http_url = f"http://127.0.0.1:{http_port}"
        base_url = f"https://127.0.0.1:{https_port}" if tls else http_url
        yield Nginx(base_url=base_url, http_url=http_url, directory=directory)
    finally:
        stop_process(process)


def _wait_for_port(port, process, directory, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{(directory / 'error.log').read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port} within {timeout} s")


class _FromAddressHandler(urllib.request.HTTPHandler):
    """Connects from a chosen loopback address (127.0.0.2, 127.0.0.3 …): another visitor to nginx."""

    def __init__(self, source_address):
        super().__init__()
        self.source_address = source_address

    def http_open(self, req):
        return self.do_open(functools.partial(http.client.HTTPConnection, source_address=(self.source_address, 0)), req)


def visitor_from(base_url, source_address):
    """A `Visitor` whose connections come from `source_address` (any 127.x.y.z on Linux)."""
    visitor = Visitor(base_url)
    visitor.opener = urllib.request.build_opener(
        _FromAddressHandler(source_address), urllib.request.HTTPCookieProcessor(visitor.cookies), _NoRedirects()
    )
    return visitor
