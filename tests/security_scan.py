"""`make scan`: wapiti (Debian's package) against the app on 127.0.0.1, anonymous and as a coordinator.

Runs on a throw-away SQLite database with the demo data, stays on loopback (`--endpoint` points
at a closed local port, the modules that reach outside servers are left out) and prints what
wapiti found. Rate limits and the bot trap are off so the scanner reaches the form logic.
Reports: out/scan-anonymous.json and out/scan-coordinator.json. Findings are discussed in
docs/security.md.
"""
import http.cookiejar
import json
import logging
import re
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path

from flask import redirect, request
from werkzeug.serving import make_server

from koalicja import create_app
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, seed_demo
from koalicja.extensions import db

MODULES = "blindsql,cookieflags,csp,exec,file,http_headers,permanentxss,redirect,sql,xss,crlf,csrf,methods,backup"
OUT = Path("out")


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def coordinator_cookie(base):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/panel/logowanie").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"email": DEMO_COORDINATOR_EMAIL, "password": DEMO_COORDINATOR_PASSWORD, "csrf_token": token})
    opener.open(f"{base}/panel/logowanie", data=data.encode()).read()
    [session] = [cookie for cookie in jar if cookie.name == "session"]
    return {"127.0.0.1": {"/": {"session": {"value": session.value, "expires": None, "secure": False, "port": None, "version": 0}}}}


def wapiti(base, start, report, extra=()):
    command = [
        "wapiti", "-u", f"{base}{start}", "--scope", "folder" if start == "/" else "domain", "-m", MODULES,
        "--max-scan-time", "120", "--max-attack-time", "30", "--endpoint", "http://127.0.0.1:9/",
        "--no-bugreport", "--flush-session", "-f", "json", "-o", str(report), *extra,
    ]
    print("$", " ".join(command), flush=True)
    log = report.with_suffix(".log")
    with log.open("w") as output:
        subprocess.run(command, check=False, stdout=output, stderr=subprocess.STDOUT)
    if not report.exists():
        raise SystemExit(f"wapiti wrote no report; its output is in {log}")
    findings = json.loads(report.read_text())
    for section in ("vulnerabilities", "anomalies"):
        for name, items in findings.get(section, {}).items():
            for item in items:
                print(f"  [{section}] {name}: {item.get('method')} {item.get('path')} — {item.get('info')}")
    return findings


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # wapiti sends thousands of requests
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        app = create_app(
            {
                "SECRET_KEY": "scan",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch}/scan.sqlite",
                "MAIL_OUTBOX_DIR": f"{scratch}/outbox",
                "RATELIMIT_ENABLED": False,
                "BOT_TRAP_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            seed_demo()

        # wapiti 3.0.4 cannot exclude URLs on Python 3.11 (its -x patterns crash `re`), so the
        # scanner's own attacks on the logout and password forms are answered without effect,
        # keeping its coordinator session alive for the rest of the scan.
        @app.before_request
        def keep_the_scanner_signed_in():
            if request.method == "POST" and request.path in ("/panel/wyloguj", "/panel/haslo"):
                return redirect("/panel/podpisy", code=303)

        server = serve(app)
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            print("Anonymous visitor:")
            anonymous = wapiti(base, "/", OUT / "scan-anonymous.json")
            cookies = Path(scratch) / "cookies.json"
            cookies.write_text(json.dumps(coordinator_cookie(base)))
            print("Logged-in coordinator:")
            panel = wapiti(base, "/panel/podpisy", OUT / "scan-coordinator.json", ["-c", str(cookies)])
        finally:
            server.shutdown()
    total = sum(len(v) for report in (anonymous, panel) for v in report.get("vulnerabilities", {}).values())
    print(f"Vulnerabilities reported: {total} (details in {OUT}/scan-*.json, discussion in docs/security.md)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
