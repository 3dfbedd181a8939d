"""The benchmark behind `make bench` (see bench/README.md).

    python -m bench.run [--database sqlite|postgresql ...] [--seconds 8] [--connections 16]

For each database: seed it (bench/seed.py), serve the app with gunicorn on 127.0.0.1 using
koalicja/gunicorn_conf.py (2 workers x 4 threads), serve a bare Flask "hello world" with the
same settings, and drive both with wrk. Each page is measured right after the bare app, so
a busy machine slows both alike; its throughput is reported as a ratio to that run.
Prints, per page: requests/s, ratio, p50/p99 latency and PASS/FAIL against the budgets of
issue #6, then the peak memory of a worker and the gzipped weight of each public page.
"""
import argparse
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
from datetime import datetime
from pathlib import Path

from . import seed as seeding

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

READ_BUDGET = 0.40  # of bare Flask's throughput
WRITE_BUDGET = 0.25
P99_BUDGET_MS = 50.0
# "A worker under 80 MB": what one worker costs the machine, i.e. its proportional share of the
# memory it uses (PSS: its own pages plus its share of those it shares with the master and the
# other workers). RSS counts every shared page in full in every process (so 2 workers and the
# master "use" the ~65 MB of Python and the app three times over); it is reported, not judged.
WORKER_PSS_BUDGET_MB = 80.0
PAGE_WEIGHT_BUDGET = 60_000  # bytes, HTML + CSS + JS, gzipped
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


def wrk(url, seconds, connections, threads=2, headers=None, script=None, server=None):
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
-- signature and its confirmation e-mail to the outbox).
local counter = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end
request = function()
  counter = counter + 1
  local email = "%(tag)s-" .. thread_number .. "-" .. counter .. "%%40example.org"
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "%(cookie)s",
  }, "%(body)s&email=" .. email)
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


def sign_form(base):
    """A visitor's cookie and the form's hidden fields, as a browser would send them."""
    opener, jar = opener_with_cookies()
    _status, _headers, body = fetch(opener, f"{base}/{seeding.SLUG}/podpisz")
    page = body.decode()
    fields = {"csrf_token": hidden_value(page, "csrf_token")}
    if 'name="form_started"' in page:
        fields["form_started"] = hidden_value(page, "form_started")
        fields["website"] = ""
    fields.update(kind="person", full_name="Osoba Z Benchmarku", city="Kraków", accept_declaration="y",
                  accept_privacy="y", public_name="y")
    return cookie_header(jar), urllib.parse.urlencode(fields)


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
    with engine.begin() as connection:
        connection.execute(text("UPDATE data_version SET version = version + 1 WHERE id = 1"))
    engine.dispose()


def cold_ms(base, path, cookie, database_url):
    """Median time of the first request after a write (the page is rendered, not cached)."""
    opener, _jar = opener_with_cookies()
    headers = {**BROWSER_HEADERS, **({"Cookie": cookie} if cookie else {})}
    times = []
    for _ in range(3):
        bump_data_version(database_url)
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


def run(kind, seconds, connections, rounds=3, only=None, keep=False):
    workdir = Path(tempfile.mkdtemp(prefix=f"koalicja-bench-{kind}-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, "root")
    database_url, cluster = prepare_database(kind, workdir)
    app_server = hello_server = None
    print(f"\n## {kind}: seeding …", flush=True)
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bench.seed", database_url], cwd=PROJECT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seed_seconds = time.perf_counter() - started
        env = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-" + os.urandom(8).hex(),
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
        sign_cookie, sign_body = sign_form(base)
        time.sleep(3.5)  # the bot trap refuses forms sent within 3 s of loading them
        # Measured from here: serving pages. Starting up and the coordinator's login (Argon2id
        # hashes with 64 MiB) come before and are reported apart.
        startup_rss = app_server.memory_mb("VmHWM")
        app_server.reset_peak_memory()
        hello_server.reset_peak_memory()

        pages = [
            ("Home page", f"/{seeding.SLUG}/", None, "read"),
            ("Allies: first page", f"/{seeding.SLUG}/sojusznicy", None, "read"),
            ("Allies: search", f"/{seeding.SLUG}/sojusznicy?q=kowalska", None, "read"),
            ("Allies: deep page", f"/{seeding.SLUG}/sojusznicy?strona=300", None, "read"),
            ("Event page", f"/{seeding.SLUG}/wydarzenia/{seeding.BIG_EVENT_SLUG}", None, "read"),
            ("Sign form POST", f"/{seeding.SLUG}/podpisz", sign_cookie, "write"),
            ("Coordinator queue", "/panel/podpisy", panel_cookie, "read"),
            ("Check-in search", f"/panel/wydarzenia/{gala_id}/wejscie?q=nowak", panel_cookie, "read"),
        ]
        if only:
            pages = [page for page in pages if any(word.lower() in page[0].lower() for word in only)]
        signatures_before = count_rows(database_url, "signature")
        outbox_before = count_rows(database_url, "outbox_message")
        rows = []
        bare_runs = []
        for name, path, cookie, kind_of_page in pages:
            print(f"   {name} …", flush=True)
            headers = {"Cookie": cookie} if cookie else {}
            script = None
            cold = None
            if kind_of_page == "write":
                headers = {}
                written_before = count_rows(database_url, "signature")
            else:
                cold = cold_ms(base, path, cookie, database_url)
                wrk(base + path, 1, connections, headers=headers)  # warm up both workers
            # Rounds of bare Flask, then the page: a busy machine slows both alike.
            bares, results = [], []
            for number in range(rounds):
                if kind_of_page == "write":  # new addresses in every round: each POST is a new signature
                    script = workdir / f"sign-{number}.lua"
                    tag = f"wrk{number}" + os.urandom(3).hex()
                    script.write_text(SIGN_SCRIPT % {"tag": tag, "path": path, "cookie": sign_cookie, "body": sign_body})
                bares.append(wrk(hello_server.url + "/", seconds, connections, server=hello_server))
                results.append(wrk(base + path, seconds, connections, headers=headers, script=script, server=app_server))
            bare_runs += [bare["rps"] for bare in bares]
            result = {
                "rps": statistics.median(r["rps"] for r in results),
                "p50": statistics.median(r["p50"] for r in results),
                "p99": statistics.median(r["p99"] for r in results),
                "p99_worst": max(r["p99"] for r in results),
                "requests": sum(r["requests"] for r in results),
                "errors": sum(r["errors"] for r in results),
                "ratios": [r["rps"] / b["rps"] for r, b in zip(results, bares, strict=True)],
                "cpu_us": statistics.median(r["cpu_us"] for r in results),
                "bare_cpu_us": statistics.median(b["cpu_us"] for b in bares),
            }
            if kind_of_page == "write":
                written = count_rows(database_url, "signature") - written_before
                result["written"] = written
                if written < result["requests"] * 0.99:
                    result["errors"] += result["requests"] - written
            ratio = statistics.median(result["ratios"])
            bare_rps = statistics.median(b["rps"] for b in bares)
            budget = READ_BUDGET if kind_of_page == "read" else WRITE_BUDGET
            passed = ratio >= budget and result["p99"] < P99_BUDGET_MS and result["errors"] == 0
            if kind_of_page == "write":
                passed = ratio >= budget and result["errors"] == 0  # the p99 budget is for read pages
            rows.append({"page": name, "path": path, "kind": kind_of_page, "bare_rps": bare_rps, "cold_ms": cold,
                         "ratio": ratio, "passed": passed, **result})
        signatures_written = count_rows(database_url, "signature") - signatures_before
        outbox_written = count_rows(database_url, "outbox_message") - outbox_before
        peak_rss = app_server.memory_mb("VmHWM")
        resident_rss = app_server.memory_mb("VmRSS")
        pss, uss = app_server.shared_and_private_mb()
        hello_rss = hello_server.memory_mb("VmHWM")
        hello_pss, _hello_uss = hello_server.shared_and_private_mb()

        weights = []
        for name, path in [
            ("Home page", f"/{seeding.SLUG}/"),
            ("Allies list", f"/{seeding.SLUG}/sojusznicy"),
            ("Events", f"/{seeding.SLUG}/wydarzenia"),
            ("Event page", f"/{seeding.SLUG}/wydarzenia/{seeding.BIG_EVENT_SLUG}"),
            ("Sign form", f"/{seeding.SLUG}/podpisz"),
            ("Privacy notice", f"/{seeding.SLUG}/prywatnosc"),
        ]:
            total, assets = page_weight(base, path)
            weights.append({"page": name, "path": path, "bytes": total, "assets": assets, "passed": total < PAGE_WEIGHT_BUDGET})
    finally:
        for server in (app_server, hello_server):
            if server is not None:
                server.stop()
        if cluster is not None:
            cluster.stop()
    report = {
        "database": kind,
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "nproc": os.cpu_count(),
        "machine": platform.platform(),
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "seed_seconds": round(seed_seconds, 1),
        "bare_rps_median": statistics.median(bare_runs),
        "pages": rows,
        "peak_worker_rss_mb": peak_rss,
        "resident_worker_rss_mb": resident_rss,
        "worker_pss_mb": pss,
        "worker_private_mb": uss,
        "startup_and_login_rss_mb": startup_rss,
        "bare_worker_rss_mb": hello_rss,
        "bare_worker_pss_mb": hello_pss,
        "signatures_written": signatures_written,
        "outbox_written": outbox_written,
        "weights": weights,
    }
    if keep:
        print(f"   logs and database kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def markdown(report):
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    lines = [
        f"### {report['database']} — {report['date']}, nproc={report['nproc']}, wrk -t2 -c{report['connections']} "
        f"-d{report['seconds']}s x {report['rounds']} rounds, gunicorn 2 workers x 4 threads",
        "",
        f"Seeded 20 000 approved allies, 3 000 in the queue, 30 events, 2 000 registrations in {report['seed_seconds']} s. "
        f"Bare Flask: median {report['bare_rps_median']:.0f} req/s.",
        "",
        "| Page | req/s | bare Flask req/s | ratio | budget | p50 ms | p99 ms | cold ms | CPU µs/req (bare) | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["pages"]:
        budget = f"≥ {READ_BUDGET:.0%}, p99 < 50" if row["kind"] == "read" else f"≥ {WRITE_BUDGET:.0%}"
        cold = f"{row['cold_ms']:.1f}" if row["cold_ms"] is not None else "–"
        errors = f" ({row['errors']} errors)" if row["errors"] else ""
        lines.append(
            f"| {row['page']} | {row['rps']:.0f} | {row['bare_rps']:.0f} | {row['ratio']:.0%} | {budget} | "
            f"{row['p50']:.1f} | {row['p99']:.1f} | {cold} | {row['cpu_us']:.0f} ({row['bare_cpu_us']:.0f}) | "
            f"{verdict(row['passed'])}{errors} |"
        )
    rss, pss = report["peak_worker_rss_mb"], report["worker_pss_mb"]
    lines += [
        "",
        f"Sign form POST: {report['signatures_written']} signatures and {report['outbox_written']} outbox e-mails written.",
        "",
        "| Memory of an app worker | MB | budget 80 MB (PSS) |",
        "|---|---:|---|",
        f"| Proportional share at the end (PSS: what the worker costs the machine) | {pss:.1f} | "
        f"{verdict(pss is not None and pss < WORKER_PSS_BUDGET_MB)} |",
        f"| Its own pages at the end (USS; the rest is shared with the master) | {report['worker_private_mb']:.1f} | |",
        f"| Peak RSS while serving (VmHWM; shared pages counted in full) | {rss:.1f} | |",
        f"| RSS at the end | {report['resident_worker_rss_mb']:.1f} | |",
        f"| Peak RSS including start-up and a coordinator's login (Argon2id) | {report['startup_and_login_rss_mb']:.1f} | |",
        f"| Bare Flask worker, PSS / peak RSS | {report['bare_worker_pss_mb']:.1f} / {report['bare_worker_rss_mb']:.1f} | |",
        "",
        "| Public page | HTML + CSS + JS, gzipped | files | budget 60 KB |",
        "|---|---:|---:|---|",
    ]
    for weight in report["weights"]:
        kilobytes = weight["bytes"] / 1000
        lines.append(f"| {weight['page']} | {kilobytes:.1f} KB | {1 + weight['assets']} | {verdict(weight['passed'])} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", "16")))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")),
                        help="alternating runs of bare Flask and the page; the median ratio counts")
    parser.add_argument("--only", action="append", help="measure only pages whose name contains this word")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server logs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    databases = args.database or ["postgresql", "sqlite"]
    RESULTS.mkdir(exist_ok=True)
    failed = False
    outputs = []
    for kind in databases:
        report = run(kind, args.seconds, args.connections, args.rounds, args.only, args.keep)
        text = markdown(report)
        outputs.append(text)
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        (RESULTS / f"{stamp}-{kind}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        (RESULTS / f"{stamp}-{kind}.md").write_text(text + "\n")
        failed |= not all(row["passed"] for row in report["pages"]) or not all(w["passed"] for w in report["weights"])
        failed |= not (report["worker_pss_mb"] or 999) < WORKER_PSS_BUDGET_MB
    print("\n\n" + "\n\n".join(outputs))
    print(f"\nResults saved in {RESULTS.relative_to(PROJECT)}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
