"""axe-core (shipped inside the axe-playwright-python package, no network) against a page.

Only WCAG 2.1 A and AA rules run; any violation fails the calling test with the rule,
the page and the offending elements. Every run is recorded in RESULTS, and
tests/browser/conftest.py prints the table (page, language, violations) after the run.
"""
from dataclasses import dataclass

from axe_playwright_python.sync_playwright import Axe

from .support import html_document_listeners

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}

_axe = Axe()

# htmx fetches with XMLHttpRequest: none since the page loaded, and the DOM is the server's document.
HTMX_CHANGED_IT = "() => performance.getEntriesByType('resource').some(entry => entry.initiatorType === 'xmlhttprequest')"


@dataclass
class AxeRun:
    page: str
    language: str
    violations: int
    rules: str


RESULTS: list[AxeRun] = []


def describe(violations):
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1].strip()}")
    return "\n".join(lines)


def assert_accessible(page, name):
    """Run axe on what `page` shows now; fail on any WCAG 2.1 A/AA violation. A state that htmx
    changed is also handed to the Nu HTML checker (tests/browser/conftest.py); the server's
    documents reach it anyway."""
    if html_document_listeners and page.evaluate(HTMX_CHANGED_IT):
        html = page.content()
        for listener in html_document_listeners:
            listener(page.url, html)
    results = _axe.run(page, options=OPTIONS)
    violations = results.response["violations"]
    language = page.evaluate("document.documentElement.lang")
    RESULTS.append(AxeRun(name, language, len(violations), ", ".join(v["id"] for v in violations)))
    assert not violations, f"axe found WCAG 2.1 A/AA violations on {name} ({language}, {page.url}):\n{describe(violations)}"


def summary_lines():
    if not RESULTS:
        return []
    width = max(len(run.page) for run in RESULTS)
    lines = [f"{'page':<{width}}  lang  violations", f"{'-' * width}  ----  ----------"]
    for run in RESULTS:
        lines.append(f"{run.page:<{width}}  {run.language:<4}  {run.violations}{'  ' + run.rules if run.rules else ''}")
    total = sum(run.violations for run in RESULTS)
    lines.append(f"{len(RESULTS)} page states checked, {total} violations of WCAG 2.1 A/AA rules")
    return lines
