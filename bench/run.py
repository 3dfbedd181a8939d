"""The benchmark behind `make bench` (see bench/README.md): the budgets of issue #12.

    python -m bench.run [--database sqlite|postgresql ...] [--seconds 5] [--rounds 3]
                        [--connections 16] [--only WORD ...] [--no-proxy] [--keep]

For each database: seed it (bench/seed.py: 20 000 allies), then, on 127.0.0.1, with wrk:

1. **App alone.** The app under gunicorn with koalicja/gunicorn_conf.py (2 workers x 4
   threads, no proxy) against a bare Flask "hello world" (bench/hello.py) with the same
   settings. Every round measures bare Flask, then the page, so a busy machine slows both
   alike; a page's ratio is the median of its rounds' ratios. Budgets: every public page
   that is the same for every visitor >= 0.5x, every page with a form >= 0.25x, p99 < 50 ms
   at 16 connections.
2. **Sign POST** against bench/minimal_sign.py (Flask + a Flask-WTF form with CSRF + one
   SQLAlchemy insert + one outbox row, same gunicorn settings, same database), alternating
   in the same way: >= 0.5x; printed also as signings per minute next to the UK Parliament
   petitions' record peak (~2 000 a minute, Revoke Article 50, March 2019).
3. **Through the kit's nginx** (deploy/nginx/, rendered for loopback by tests/nginx.py):
   the public pages through nginx with its cache, against bare Flask behind the same nginx
   configuration without the cache: >= 3x, p99 < 20 ms.
4. A worker's PSS < 80 MB; each public page < 40 KB gzipped in all (HTML + CSS + JS).

Every budget prints PASS or FAIL, and a FAIL says by how much. The exit status is 1 when a
budget fails or could not be measured.
"""
import argparse
import contextlib
import gzip
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from . import seed as seeding

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

# Issue #12, "Budgets".
PUBLIC_BUDGET = 0.50  # of bare Flask's throughput, app alone
FORM_BUDGET = 0.25
P99_BUDGET_MS = 50.0  # app alone, 16 connections
PROXY_BUDGET = 3.0  # through nginx with its cache, of bare Flask behind the same nginx without it
PROXY_P99_BUDGET_MS = 20.0
SIGN_BUDGET = 0.50  # of bench/minimal_sign.py's signings per second
# "A worker under 80 MB": what one worker costs the machine, i.e. its proportional share of the
# memory it uses (PSS: its own pages plus its share of those it shares with the master and the
# other workers). RSS counts every shared page in full in every process (so 2 workers and the
# master "use" the ~65 MB of Python and the app three times over); it is reported, not judged.
WORKER_PSS_BUDGET_MB = 80.0
PAGE_WEIGHT_BUDGET = 40_000  # bytes, HTML + CSS + JS, gzipped
# The UK Parliament petitions site's record: "Revoke Article 50 and remain in the EU", 21 March
# 2019, about 2 000 signatures a minute at its peak (reported by the Petitions Committee).
PETITIONS_PEAK_PER_MINUTE = 2_000
WRK_THREADS = 2
# Every request, from wrk or from this script, looks like the same browser (Flask-Login ties a
# coordinator's session to the user agent).
BROWSER_HEADERS = {
    "Accept-Encoding": "gzip, deflate, br",
    "Accept": "text/html,application/xhtml+xml",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) koalicja-bench",
}


# ---- processes -------------------------------------------------------------------------


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """`gunicorn -c python:koalicja.gunicorn_conf <app>` on a free port, stopped by its pid."""

    def __init__(self, target, env, log_path, ready_path="/"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:koalicja.gunicorn_conf", target],
            cwd=PROJECT,
            env={**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {target} exited; see {log_path}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn {target} did not start; see {log_path}")

    def workers(self):
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    children.append(int(entry.name))
        return children

    def memory_mb(self, field="VmHWM"):
        """The largest value of a /proc/<pid>/status field (VmHWM: peak resident memory) among the workers."""
        values = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                values.append(int(match.group(1)) / 1024)
        return max(values) if values else None

    def shared_and_private_mb(self):
        """(PSS, USS) of the largest worker: its share of pages shared with the master, and its own pages."""
        best = (0.0, 0.0)
        for pid in self.workers():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            fields = {m.group(1): int(m.group(2)) / 1024 for m in re.finditer(r"^(\w+):\s+(\d+) kB", rollup, re.MULTILINE)}
            private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
            best = max(best, (fields.get("Pss", 0.0), private))
        return best

    def cpu_seconds(self):
        """User + system CPU time of the workers so far (clock ticks from /proc/<pid>/stat)."""
        ticks = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def reset_peak_memory(self):
        """Start the workers' VmHWM afresh (Linux: `echo 5 > /proc/<pid>/clear_refs`)."""
        for pid in self.workers():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# ---- wrk ----------------------------------------------------------------------------------


def _milliseconds(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections, threads=WRK_THREADS, headers=None, script=None, server=None):
    """One wrk run; with `server`, also the CPU time its workers spent per request (µs)."""
    cpu_before = server.cpu_seconds() if server else None
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in {**BROWSER_HEADERS, **(headers or {})}.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _milliseconds(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)),
        "p99": _milliseconds(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": 0,
    }
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["errors"] = (int(bad.group(1)) if bad else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    if server:
        result["cpu_us"] = (server.cpu_seconds() - cpu_before) / max(result["requests"], 1) * 1e6
    return result


SIGN_SCRIPT = """
-- POST the signing form; every request signs with a new address (so each one writes a
-- signature and its confirmation e-mail to the outbox) and, when the form has a bot trap,
-- with a start time of its own (each is accepted once), fetched beforehand by GETs of the
-- form in the same session.
local starts = {%(starts)s}
local thread_count = %(threads)d
local counter = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end
request = function()
  local body = "%(body)s&email=%(tag)s-" .. thread_number .. "-" .. counter .. "%%40example.org"
  if #starts > 0 then
    -- the threads take turns through the list; past its end a start time comes back (refused)
    body = body .. "&form_started=" .. starts[(thread_number - 1 + counter * thread_count) %% #starts + 1]
  end
  counter = counter + 1
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "%(cookie)s",
  }, body)
end
"""


# ---- the app's side -------------------------------------------------------------------


def opener_with_cookies():
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    return opener, jar


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(opener, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers={"User-Agent": BROWSER_HEADERS["User-Agent"], **(headers or {})})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def hidden_value(page, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(rf'value="([^"]*)"[^>]*name="{name}"', page)
    return match.group(1) if match else None


def cookie_header(jar):
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def coordinator_cookie(base):
    opener, jar = opener_with_cookies()
    _status, _headers, body = fetch(opener, base + "/panel/logowanie")
    token = hidden_value(body.decode(), "csrf_token")
    data = urllib.parse.urlencode(
        {"csrf_token": token, "email": seeding.COORDINATOR_EMAIL, "password": seeding.COORDINATOR_PASSWORD}
    ).encode()
    status, _headers, _body = fetch(opener, base + "/panel/logowanie", data=data)
    if status != 303:
        raise RuntimeError(f"coordinator login failed: {status}")
    # As a browser does: its first page after the login stores the session's new CSRF secret in
    # the cookie. (wrk keeps no cookies: without this every request would make a new secret and
    # send a new cookie, which no browser asks for.)
    status, _headers, _body = fetch(opener, base + "/panel/podpisy")
    if status != 200:
        raise RuntimeError(f"the coordinator's queue: {status}")
    return cookie_header(jar)


def sign_session(url, starts=0):
    """A visitor's cookie, the form's fields as a browser sends them, and `starts` start times of
    the bot trap, each from its own GET of the form in that session (one per signing: each is
    accepted once). No start times when the form has no bot trap."""
    opener, jar = opener_with_cookies()
    status, _headers, body = fetch(opener, url)
    if status != 200:
        raise RuntimeError(f"{url}: {status}")
    page = body.decode()
    fields = {"csrf_token": hidden_value(page, "csrf_token")}
    trapped = 'name="form_started"' in page
    if trapped:
        fields["website"] = ""
    fields.update(kind="person", full_name="Osoba Z Benchmarku", city="Kraków", accept_declaration="y",
                  accept_privacy="y", public_name="y")
    cookie = cookie_header(jar)
    tokens = []
    if trapped and starts:
        plain = urllib.request.build_opener(NoRedirect())

        def start_time(_number):
            _status, _headers, form = fetch(plain, url, headers={"Cookie": cookie})
            return hidden_value(form.decode(), "form_started")

        with ThreadPoolExecutor(max_workers=8) as pool:
            tokens = list(pool.map(start_time, range(starts)))
        if not all(tokens):
            raise RuntimeError(f"{url}: a form came without its start time")
    return cookie, urllib.parse.urlencode(fields), tokens


def response_headers(url):
    """Status and the caching headers of a first visit (no cookie), as a proxy in front sees them."""
    opener, _jar = opener_with_cookies()
    status, headers, _body = fetch(opener, url, headers=BROWSER_HEADERS)
    return {
        "status": status,
        "cache_control": headers.get("Cache-Control", ""),
        "set_cookie": headers.get("Set-Cookie") is not None,
        "etag": headers.get("ETag") is not None,
        "vary": headers.get("Vary", ""),
        "x_cache": headers.get("X-Cache-Status", ""),
    }


def page_weight(base, path):
    """HTML + stylesheets + scripts of a page, each as sent gzipped to a browser."""
    opener, _jar = opener_with_cookies()
    status, headers, body = fetch(opener, base + path, headers=BROWSER_HEADERS)
    if status != 200:
        raise RuntimeError(f"{path}: {status}")
    total = len(body)
    html = gzip.decompress(body).decode() if headers.get("Content-Encoding") == "gzip" else body.decode()
    assets = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html) + re.findall(r'<script[^>]+src="([^"]+)"', html)
    for asset in assets:
        _status, _headers, data = fetch(opener, urllib.parse.urljoin(base + path, asset), headers=BROWSER_HEADERS)
        total += len(data)
    return total, len(assets)


def bump_data_version(database_url):
    """A write somewhere: every cached page is stale now (for measuring a page's cold render)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE data_version SET version = version + 1 WHERE id = 1"))
    finally:
        engine.dispose()


def cold_ms(base, path, cookie, database_url):
    """Median time of the first request after a write (the page is rendered, not cached);
    None when the app keeps no data version to bump."""
    opener, _jar = opener_with_cookies()
    headers = {**BROWSER_HEADERS, **({"Cookie": cookie} if cookie else {})}
    times = []
    for _ in range(3):
        try:
            bump_data_version(database_url)
        except Exception:  # noqa: BLE001  (no data_version table: nothing to invalidate)
            return None
        started = time.perf_counter()
        status, _headers, _body = fetch(opener, base + path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"{path}: {status}")
    return statistics.median(times)


def scalar(database_url, query):
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.scalar(text(query))
    engine.dispose()
    return value


def count_rows(database_url, table):
    return scalar(database_url, f"SELECT count(*) FROM {table}")

# ---- budgets: PASS, or FAIL by how much -----------------------------------------------------


def at_least(what, value, budget):
    """A ratio that must reach `budget` (e.g. 0.5× of bare Flask)."""
    check = {"what": what, "value": value, "budget": f"≥ {budget:.2f}×", "passed": value >= budget, "by": ""}
    if not check["passed"]:
        factor = budget / value if value > 0 else float("inf")
        needed = f"needs {factor - 1:.0%} more req/s" if factor < 2 else f"needs {factor:.1f}× its req/s"
        check["by"] = f"{what} {value:.2f}× < {budget:.2f}×: {budget - value:.2f}× short ({needed})"
    return check


def below(what, value, budget, unit="ms"):
    check = {"what": what, "value": value, "budget": f"< {budget:g} {unit}", "passed": value < budget, "by": ""}
    if not check["passed"]:
        factor = value / budget
        over = f"{factor - 1:.0%} over" if factor < 2 else f"{factor:.1f}× the budget"
        check["by"] = f"{what} {value:.1f} {unit} ≥ {budget:g} {unit}: {value - budget:.1f} {unit} over ({over})"
    return check


def no_errors(errors):
    check = {"what": "errors", "value": errors, "budget": "0", "passed": errors == 0, "by": ""}
    if errors:
        check["by"] = f"{errors} failed requests (non-2xx/3xx, socket errors or rows not written)"
    return check


def verdict(checks):
    failed = [check["by"] for check in checks if not check["passed"]]
    return "PASS" if not failed else "FAIL: " + "; ".join(failed)


# ---- the pages ----------------------------------------------------------------------------


def page_plan(base, gala_id):
    """The pages judged by the budgets, by what they are: the same for every visitor ("public"),
    carrying a form ("form"), or a coordinator's (reported, not judged by issue #12).

    The event page is public once its registration form has its own address
    (`…/wydarzenia/<slug>/zapisz`); while the page itself embeds the form, it is a form page.
    """
    slug = seeding.SLUG
    event = f"/{slug}/wydarzenia/{seeding.BIG_EVENT_SLUG}"
    registration = event + "/zapisz"
    separate_registration = response_headers(base + registration)["status"] == 200
    public = [
        ("Coalitions index", "/"),
        ("Coalition home", f"/{slug}/"),
        ("Allies: first page", f"/{slug}/sojusznicy"),
        ("Allies: search", f"/{slug}/sojusznicy?q=kowalska"),
        ("Allies: deep page", f"/{slug}/sojusznicy?strona=300"),
        ("Events", f"/{slug}/wydarzenia"),
        *([("Event page", event)] if separate_registration else []),
        ("Declaration versions", f"/{slug}/deklaracja/wersje"),
        ("Declaration text", f"/{slug}/deklaracja/wersja-1"),
        ("Printable page", f"/{slug}/deklaracja/druk"),
        ("Privacy notice", f"/{slug}/prywatnosc"),
        # Read by other sites (koalicja/reach/): the live count and the allies widget in their frames.
        ("Count JSON", f"/{slug}/count.json"),
        ("Embedded allies list", f"/{slug}/osadz/sojusznicy"),
    ]
    forms = [
        ("Sign form", f"/{slug}/podpisz"),
        ("Event registration" + ("" if separate_registration else " (the event page)"),
         registration if separate_registration else event),
        ("New link form", "/nowy-link"),
        ("Withdrawal form", "/wycofaj"),
    ]
    coordinator = [
        ("Coordinator queue", "/panel/podpisy"),
        ("Check-in search", f"/panel/wydarzenia/{gala_id}/wejscie?q=nowak"),
    ]
    return (
        [{"page": name, "path": path, "kind": "public"} for name, path in public]
        + [{"page": name, "path": path, "kind": "form"} for name, path in forms]
        + [{"page": name, "path": path, "kind": "coordinator"} for name, path in coordinator]
    )


def selected(name, only):
    return not only or any(word.lower() in name.lower() for word in only)


def alternate(reference, reference_url, server, url, seconds, connections, rounds, headers=None, scripts=None):
    """Rounds of the reference, then the measured page; medians of each and of the per-round ratios."""
    references, results = [], []
    for number in range(rounds):
        reference_script, script = scripts(number) if scripts else (None, None)
        references.append(wrk(reference_url, seconds, connections, script=reference_script, server=reference))
        results.append(wrk(url, seconds, connections, headers=headers, script=script, server=server))
    median = lambda runs, key: statistics.median(r[key] for r in runs if r.get(key) is not None)  # noqa: E731
    return {
        "rps": median(results, "rps"),
        "p50": median(results, "p50"),
        "p99": median(results, "p99"),
        "p99_worst": max(r["p99"] for r in results),
        "requests": sum(r["requests"] for r in results),
        "errors": sum(r["errors"] for r in results),
        "reference_rps": median(references, "rps"),
        "reference_p50": median(references, "p50"),
        "reference_p99": median(references, "p99"),
        "reference_requests": sum(r["requests"] for r in references),
        "reference_errors": sum(r["errors"] for r in references),
        "ratios": [r["rps"] / b["rps"] for r, b in zip(results, references, strict=True)],
        "ratio": statistics.median(r["rps"] / b["rps"] for r, b in zip(results, references, strict=True)),
        "cpu_us": median(results, "cpu_us") if server else None,
        "reference_cpu_us": median(references, "cpu_us") if reference else None,
    }


# ---- nginx: the kit's configuration, rendered by tests/nginx.py ---------------------------------


@contextlib.contextmanager
def kit_nginx(upstream_url, directory, cache):
    """Debian's nginx with the kit's configuration in front of `upstream_url`; yields its URL.

    The files are the kit's (deploy/nginx/), rendered for loopback ports and temporary paths
    by tests/nginx.py, the helper `make test` runs them with: no second nginx configuration.
    Two values differ from the tests' rendering, each replaced with the helper's own check
    that the text is there: nginx runs `worker_processes auto` (Debian's default, as on a
    server; the tests use 1), and `cache=False` turns the kit's `proxy_cache koalicja;` off,
    for the reference (bare Flask behind the same nginx without its cache).
    """
    sys.path.insert(0, str(PROJECT))
    from tests import nginx as kit  # noqa: PLC0415

    directory = Path(directory)
    binary = kit.nginx_binary()
    upstream_port = int(upstream_url.rsplit(":", 1)[1])
    config, port, _https_port = kit.render_kit(directory, upstream_port)
    config.write_text(kit.render(config.read_text(), [("worker_processes 1;", "worker_processes auto;")], "nginx.conf"))
    if not cache:
        snippet = directory / "koalicja-app.conf"
        snippet.write_text(kit.render(snippet.read_text(), [("proxy_cache koalicja;", "proxy_cache off;")],
                                      "koalicja-app.conf"))
    ok, output = kit.check_config(binary, directory, config)
    if not ok:
        raise RuntimeError(f"nginx -t failed for the kit's configuration:\n{output}")
    with (directory / "nginx.stderr").open("wb") as stderr:
        process = subprocess.Popen(kit._command(binary, directory, config, "-g", "daemon off;"),
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        kit._wait_for_port(port, process, directory)
        yield f"http://127.0.0.1:{port}"
    finally:
        kit.stop_process(process)


def proxy_unavailable():
    """Why the nginx phase cannot run here, or None."""
    if not (PROJECT / "deploy" / "nginx").is_dir():
        return "the nginx kit (deploy/nginx/) is not in this checkout"
    try:
        sys.path.insert(0, str(PROJECT))
        from tests import nginx as kit  # noqa: PLC0415
    except ImportError as error:
        return f"tests/nginx.py cannot be imported ({error})"
    if kit.nginx_binary() is None:
        return "Debian's nginx is not installed (apt-get install nginx)"
    return None


# ---- one run ------------------------------------------------------------------------------


def prepare_database(kind, workdir):
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite'}", None
    sys.path.insert(0, str(PROJECT))
    from tests.postgres import PostgresCluster, postgresql_bindir

    bindir = postgresql_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql (or run with --database sqlite)")
    cluster = PostgresCluster(bindir, free_port()).start(durable=True)
    return cluster.create_database(), cluster


def sign_scripts(workdir, targets, rounds):
    """For round n: one wrk script per (name, path, cookie, body, start times), each signing with
    new addresses; round n uses its own share of the start times."""

    def scripts(number):
        made = []
        for name, path, cookie, body, starts in targets:
            share = len(starts) // rounds
            mine = starts[number * share:(number + 1) * share]
            script = workdir / f"sign-{name}-{number}.lua"
            tag = f"{name}{number}" + os.urandom(3).hex()
            script.write_text(SIGN_SCRIPT % {"tag": tag, "path": path, "cookie": cookie, "body": body,
                                             "threads": WRK_THREADS, "starts": ",".join(f'"{s}"' for s in mine)})
            made.append(script)
        return tuple(made)

    return scripts


# Start times fetched per second of measuring: more than the app has signed per second on two
# cores so far (~150-300). If the app ever signs faster, the reused ones are refused and show
# as errors (422) in the result.
SIGN_STARTS_PER_SECOND = 600


def measure_app_alone(plan, app_server, hello_server, database_url, panel_cookie, seconds, connections, rounds):
    rows = []
    base = app_server.url
    for page in plan:
        print(f"   app alone: {page['page']} …", flush=True)
        cookie = panel_cookie if page["kind"] == "coordinator" else None
        headers = {"Cookie": cookie} if cookie else {}
        row = {**page, "http": response_headers(base + page["path"]) if not cookie else None}
        row["cold_ms"] = cold_ms(base, page["path"], cookie, database_url)
        wrk(base + page["path"], 1, connections, headers=headers)  # warm up both workers
        row.update(alternate(hello_server, hello_server.url + "/", app_server, base + page["path"], seconds,
                             connections, rounds, headers=headers))
        if page["kind"] == "coordinator":
            row["checks"] = []  # not budgeted by issue #12: reported for comparison
        else:
            budget = PUBLIC_BUDGET if page["kind"] == "public" else FORM_BUDGET
            row["checks"] = [at_least("ratio", row["ratio"], budget), below("p99", row["p99"], P99_BUDGET_MS),
                             no_errors(row["errors"])]
        rows.append(row)
    return rows


def measure_sign(app_server, minimal_server, database_url, workdir, seconds, connections, rounds):
    print("   sign POST: the app against bench/minimal_sign.py …", flush=True)
    app_path, minimal_path = f"/{seeding.SLUG}/podpisz", "/podpisz"
    started = time.perf_counter()
    app_cookie, app_body, app_starts = sign_session(app_server.url + app_path, rounds * seconds * SIGN_STARTS_PER_SECOND)
    minimal_cookie, minimal_body, _none = sign_session(minimal_server.url + minimal_path)
    print(f"   ({len(app_starts)} start times of the bot trap fetched in {time.perf_counter() - started:.1f} s)", flush=True)
    time.sleep(3.5)  # the bot trap refuses forms sent within 3 s of loading them
    before = {table: count_rows(database_url, table) for table in SIGN_TABLES}
    scripts = sign_scripts(workdir, [("minimal", minimal_path, minimal_cookie, minimal_body, []),
                                     ("app", app_path, app_cookie, app_body, app_starts)], rounds)
    row = alternate(minimal_server, minimal_server.url + minimal_path, app_server, app_server.url + app_path,
                    seconds, connections, rounds, scripts=scripts)
    written = {table: count_rows(database_url, table) - before[table] for table in SIGN_TABLES}
    # Every request must have written its signature and its e-mail (a 303 that stored nothing
    # is an error too).
    row["errors"] += max(0, row["requests"] - min(written["signature"], written["outbox_message"]))
    row["reference_errors"] += max(0, row["reference_requests"] - min(
        written["bench_minimal_signature"], written["bench_minimal_outbox"]))
    row.update(page="Sign POST", path=app_path, kind="sign", written=written,
               per_minute=row["rps"] * 60, reference_per_minute=row["reference_rps"] * 60)
    row["checks"] = [at_least("ratio", row["ratio"], SIGN_BUDGET), no_errors(row["errors"])]
    # A few wrk timeouts (over 2 s) of the minimal app on a loaded machine are reported; more
    # than 1% of its requests failing would make the ratio meaningless.
    if row["reference_errors"] > 0.01 * max(row["reference_requests"], 1):
        row["checks"].append({"what": "minimal app", "passed": False, "value": row["reference_errors"], "budget": "≤ 1%",
                              "by": f"the minimal app failed {row['reference_errors']} of {row['reference_requests']} "
                                    "requests: the reference itself is wrong"})
    return row


SIGN_TABLES = ("signature", "outbox_message", "bench_minimal_signature", "bench_minimal_outbox")


def measure_proxy(plan, app_server, hello_server, workdir, seconds, connections, rounds):
    rows = []
    with kit_nginx(app_server.url, workdir / "nginx-cache", cache=True) as cached, \
            kit_nginx(hello_server.url, workdir / "nginx-bare", cache=False) as bare:
        for page in plan:
            if page["kind"] == "coordinator":
                continue
            print(f"   through nginx: {page['page']} …", flush=True)
            url = cached + page["path"]
            response_headers(url)
            wrk(url, 1, connections)  # fills the cache, warms both workers
            row = {**page, "http": response_headers(url)}  # X-Cache-Status: HIT expected now
            log = workdir / "nginx-cache" / "access.log"
            offset = log.stat().st_size
            row.update(alternate(None, bare + "/", app_server, url, seconds, connections, rounds))
            row["held_in_nginx"] = held_in_nginx(log, offset)
            if page["kind"] == "public":
                row["checks"] = [at_least("ratio", row["ratio"], PROXY_BUDGET),
                                 below("p99", row["p99"], PROXY_P99_BUDGET_MS), no_errors(row["errors"])]
            else:
                # Not budgeted through nginx: shown because every new visitor's request for a
                # form page passes nginx's cache (and its lock) before it reaches the app.
                row["checks"] = []
            rows.append(row)
        # What a visitor downloads in production: the page from nginx's cache, the stylesheets
        # and scripts from nginx's static files.
        weights = {page["path"]: page_weight(cached, page["path"])[0] for page in plan if page["kind"] != "coordinator"}
    return rows, weights


# The kit's log format ends with: $status $body_bytes_sent $request_time $upstream_response_time cache=…
_NGINX_TIMES = re.compile(r'" \d{3} \d+ ([\d.]+) (\S+) cache=')


def held_in_nginx(log, offset, threshold=0.4):
    """Share of the requests logged since `offset` that spent more than `threshold` seconds in
    nginx itself (request time minus the app's time): waiting for the cache lock, whose holder
    nginx checks again every 500 ms, mostly."""
    with log.open("rb") as lines:
        lines.seek(offset)
        held = total = 0
        for line in lines:
            match = _NGINX_TIMES.search(line.decode("utf-8", "replace"))
            if not match:
                continue
            total += 1
            upstream = sum(float(t) for t in re.findall(r"[\d.]+", match.group(2))) if match.group(2) != "-" else 0.0
            held += float(match.group(1)) - upstream > threshold
    return held / total if total else None


def run(kind, seconds, connections, rounds=3, only=None, keep=False, proxy=True):
    load_at_start = os.getloadavg()[0]  # above nproc, the machine is busy with something else
    workdir = Path(tempfile.mkdtemp(prefix=f"koalicja-bench-{kind}-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "root")
    database_url, cluster = prepare_database(kind, workdir)
    app_server = hello_server = minimal_server = None
    print(f"\n## {kind}: seeding …", flush=True)
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.seed", database_url], cwd=PROJECT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seed_seconds = time.perf_counter() - started
        secret = "bench-" + os.urandom(8).hex()
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret,
            "KOALICJA_ENV": "production",
            "RATELIMIT_ENABLED": "false",  # wrk sends thousands of forms from one address
            "MAIL_BACKEND": "file",
            "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
        }
        app_server = Gunicorn("app:app", env, workdir / "app.log", ready_path="/zdrowie")
        hello_server = Gunicorn("bench.hello:app", {}, workdir / "hello.log")
        base = app_server.url
        panel_cookie = coordinator_cookie(base)
        gala_id = scalar(database_url, f"SELECT id FROM event WHERE slug = '{seeding.BIG_EVENT_SLUG}'")
        plan = [page for page in page_plan(base, gala_id) if selected(page["page"], only)]
        # Measured from here: serving pages. Starting up and the coordinator's login (Argon2id
        # hashes with 64 MiB) come before and are reported apart.
        startup_rss = app_server.memory_mb("VmHWM")
        app_server.reset_peak_memory()
        hello_server.reset_peak_memory()

        rows = measure_app_alone(plan, app_server, hello_server, database_url, panel_cookie, seconds, connections, rounds)

        sign = None
        if selected("Sign POST", only):
            minimal_server = Gunicorn("bench.minimal_sign:app", {"DATABASE_URL": database_url, "SECRET_KEY": secret},
                                      workdir / "minimal.log")
            sign = measure_sign(app_server, minimal_server, database_url, workdir, seconds, connections, rounds)
            minimal_server.stop()
            minimal_server = None

        proxied, proxy_skipped, proxy_weights = [], None, {}
        if not proxy:
            proxy_skipped = "skipped (--no-proxy)"
        elif any(page["kind"] == "public" for page in plan):
            proxy_skipped = proxy_unavailable()
            if proxy_skipped is None:
                proxied, proxy_weights = measure_proxy(plan, app_server, hello_server, workdir, seconds, connections,
                                                       rounds)

        peak_rss = app_server.memory_mb("VmHWM")
        resident_rss = app_server.memory_mb("VmRSS")
        pss, uss = app_server.shared_and_private_mb()
        hello_rss = hello_server.memory_mb("VmHWM")
        hello_pss, _hello_uss = hello_server.shared_and_private_mb()
        memory_checks = [below("PSS", pss, WORKER_PSS_BUDGET_MB, "MB")]

        weights = []
        for page in page_plan(base, gala_id):
            if page["kind"] == "coordinator":
                continue
            total, assets = page_weight(base, page["path"])
            through_nginx = proxy_weights.get(page["path"])
            checks = [below("weight", total / 1000, PAGE_WEIGHT_BUDGET / 1000, "KB")]
            if through_nginx is not None:
                checks.append(below("weight through nginx", through_nginx / 1000, PAGE_WEIGHT_BUDGET / 1000, "KB"))
            weights.append({**page, "bytes": total, "bytes_nginx": through_nginx, "assets": assets, "checks": checks})
    finally:
        for server in (app_server, hello_server, minimal_server):
            if server is not None:
                server.stop()
        if cluster is not None:
            cluster.stop()
    report = {
        "database": kind,
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "nproc": os.cpu_count(),
        "load_average_at_start": round(load_at_start, 2),
        "machine": platform.platform(),
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "seed_seconds": round(seed_seconds, 1),
        "pages": rows,
        "sign": sign,
        "proxied": proxied,
        "proxy_skipped": proxy_skipped,
        "peak_worker_rss_mb": peak_rss,
        "resident_worker_rss_mb": resident_rss,
        "worker_pss_mb": pss,
        "worker_private_mb": uss,
        "memory_checks": memory_checks,
        "startup_and_login_rss_mb": startup_rss,
        "bare_worker_rss_mb": hello_rss,
        "bare_worker_pss_mb": hello_pss,
        "weights": weights,
    }
    if keep:
        print(f"   logs and database kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def failures(report):
    """Every budget that failed, with by how much; and what could not be measured."""
    found = []
    for section, rows in (("app alone", report["pages"]), ("through nginx", report["proxied"]),
                          ("", [report["sign"]] if report["sign"] else []), ("", report["weights"])):
        for row in rows:
            for check in row["checks"]:
                if not check["passed"]:
                    found.append(f"{row['page']}{f' ({section})' if section else ''}: {check['by']}")
    for check in report["memory_checks"]:
        if not check["passed"]:
            found.append(f"Worker memory: {check['by']}")
    if report["proxy_skipped"] and report["proxy_skipped"] != "skipped (--no-proxy)":
        found.append(f"Through nginx: NOT MEASURED: {report['proxy_skipped']}")
    return found


# ---- the report ---------------------------------------------------------------------------


def _caching(http):
    if not http:
        return "–"
    said = http["cache_control"] or "(no Cache-Control)"
    if http["set_cookie"]:
        said += " + Set-Cookie"
    if http.get("x_cache"):
        said += f" [{http['x_cache']}]"
    return said


def _number(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}".replace(",", " ")


def markdown(report):
    database = report["database"]
    lines = [
        f"### {database} — {report['date']}, nproc={report['nproc']}, wrk -t2 -c{report['connections']} "
        f"-d{report['seconds']}s x {report['rounds']} rounds, gunicorn 2 workers x 4 threads",
        "",
        f"Seeded {_number(seeding.ALLIES)} approved allies, {_number(seeding.QUEUE)} in the queue, {seeding.EVENTS} "
        f"events, {_number(seeding.REGISTRATIONS)} registrations and {len(seeding.OTHER_COALITIONS)} more coalitions in "
        f"{report['seed_seconds']} s. Load average (1 min) at the start: {report['load_average_at_start']} "
        f"(on {report['nproc']} cores).",
        "",
        f"#### App alone (no proxy) against bare Flask — budgets: public ≥ {PUBLIC_BUDGET:.2f}×, "
        f"with a form ≥ {FORM_BUDGET:.2f}×, p99 < {P99_BUDGET_MS:g} ms",
        "",
        "| Page | kind | req/s | bare Flask req/s | ratio | p50 ms | p99 ms | cold ms | CPU µs/req (bare) | "
        "first visit's caching headers | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in report["pages"]:
        result = verdict(row["checks"]) if row["checks"] else "not budgeted"
        lines.append(
            f"| {row['page']} | {row['kind']} | {row['rps']:.0f} | {row['reference_rps']:.0f} | {row['ratio']:.2f}× | "
            f"{row['p50']:.1f} | {row['p99']:.1f} | {_number(row['cold_ms'], 1)} | "
            f"{_number(row['cpu_us'])} ({_number(row['reference_cpu_us'])}) | {_caching(row['http'])} | {result} |"
        )
    sign = report["sign"]
    if sign:
        written = sign["written"]
        times_peak = sign["per_minute"] / PETITIONS_PEAK_PER_MINUTE
        minimal_failed = f" ({sign['reference_errors']} requests failed)" if sign["reference_errors"] else ""
        lines += [
            "",
            f"#### Sign POST against the minimal app (bench/minimal_sign.py, same gunicorn, same database) — "
            f"budget ≥ {SIGN_BUDGET:.2f}×",
            "",
            "| | signings/s | a minute | p50 ms | p99 ms | CPU ms/signing | rows written (signature + e-mail) |",
            "|---|---:|---:|---:|---:|---:|---|",
            f"| Koalicja | {sign['rps']:.0f} | {_number(sign['per_minute'])} | {sign['p50']:.1f} | {sign['p99']:.1f} | "
            f"{_number(sign['cpu_us'] / 1000, 1)} | {written['signature']} + {written['outbox_message']} |",
            f"| Minimal app | {sign['reference_rps']:.0f} | {_number(sign['reference_per_minute'])} | "
            f"{_number(sign.get('reference_p50'), 1)} | {_number(sign.get('reference_p99'), 1)} | "
            f"{_number(sign['reference_cpu_us'] / 1000, 1)} | "
            f"{written['bench_minimal_signature']} + {written['bench_minimal_outbox']}{minimal_failed} |",
            "",
            f"Ratio {sign['ratio']:.2f}× (rounds: {', '.join(f'{r:.2f}' for r in sign['ratios'])}): "
            f"**{verdict(sign['checks'])}**. Koalicja took {_number(sign['per_minute'])} signings a minute on this "
            f"machine: {times_peak:.1f}× the UK Parliament petitions' record peak (~2 000 a minute, "
            "Revoke Article 50, March 2019).",
        ]
    lines += ["", f"#### Through the kit's nginx with its cache, against bare Flask behind the same nginx without it — "
              f"budgets ≥ {PROXY_BUDGET:g}×, p99 < {PROXY_P99_BUDGET_MS:g} ms", ""]
    if report["proxied"]:
        lines += [
            "| Page | kind | req/s | bare Flask via nginx req/s | ratio | p50 ms | p99 ms | app CPU µs/req | "
            "held > 0.4 s in nginx | caching headers [X-Cache-Status] | result |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for row in report["proxied"]:
            result = verdict(row["checks"]) if row["checks"] else "not budgeted"
            lines.append(
                f"| {row['page']} | {row['kind']} | {row['rps']:.0f} | {row['reference_rps']:.0f} | {row['ratio']:.2f}× | "
                f"{row['p50']:.1f} | {row['p99']:.1f} | {_number(row['cpu_us'])} | "
                f"{'–' if row.get('held_in_nginx') is None else format(row['held_in_nginx'], '.1%')} | "
                f"{_caching(row['http'])} | {result} |"
            )
    else:
        lines.append(f"Not measured: {report['proxy_skipped'] or 'no public page selected'}.")
    rss, pss = report["peak_worker_rss_mb"], report["worker_pss_mb"]
    lines += [
        "",
        f"#### Memory of an app worker — budget PSS < {WORKER_PSS_BUDGET_MB:g} MB",
        "",
        "| | MB | result |",
        "|---|---:|---|",
        f"| Proportional share at the end (PSS: what the worker costs the machine) | {_number(pss, 1)} | "
        f"{verdict(report['memory_checks'])} |",
        f"| Its own pages at the end (USS; the rest is shared with the master) | {_number(report['worker_private_mb'], 1)} | |",
        f"| Peak RSS while serving (VmHWM; shared pages counted in full) | {_number(rss, 1)} | |",
        f"| RSS at the end | {_number(report['resident_worker_rss_mb'], 1)} | |",
        f"| Peak RSS including start-up and a coordinator's login (Argon2id) | "
        f"{_number(report['startup_and_login_rss_mb'], 1)} | |",
        f"| Bare Flask worker, PSS / peak RSS | {_number(report['bare_worker_pss_mb'], 1)} / "
        f"{_number(report['bare_worker_rss_mb'], 1)} | |",
        "",
        f"#### Page weight (HTML + CSS + JS, gzipped) — budget < {PAGE_WEIGHT_BUDGET / 1000:g} KB",
        "",
        "| Page | kind | KB from the app | KB through nginx | files | result |",
        "|---|---|---:|---:|---:|---|",
    ]
    for weight in report["weights"]:
        nginx_kb = weight.get("bytes_nginx")
        lines.append(f"| {weight['page']} | {weight['kind']} | {weight['bytes'] / 1000:.1f} | "
                     f"{_number(nginx_kb / 1000 if nginx_kb else None, 1)} | {1 + weight['assets']} | "
                     f"{verdict(weight['checks'])} |")
    found = failures(report)
    lines += ["", "#### Budgets not met", ""]
    lines += [f"- {line}" for line in found] if found else ["None: every budget measured here is met."]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")),
                        help="alternating runs of the reference and the page; the median ratio counts")
    parser.add_argument("--only", action="append", help="measure only pages whose name contains this word")
    parser.add_argument("--no-proxy", action="store_true", help="leave out the measurements through nginx")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server logs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    databases = args.database or ["postgresql", "sqlite"]
    RESULTS.mkdir(exist_ok=True)
    failed = False
    outputs = []
    for kind in databases:
        report = run(kind, args.seconds, args.connections, args.rounds, args.only, args.keep, proxy=not args.no_proxy)
        text = markdown(report)
        outputs.append(text)
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        (RESULTS / f"{stamp}-{kind}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        (RESULTS / f"{stamp}-{kind}.md").write_text(text + "\n")
        failed |= bool(failures(report))
    print("\n\n" + "\n\n".join(outputs))
    print(f"\nResults saved in {RESULTS.relative_to(PROJECT)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
