"""Every page the browser tests load is valid HTML: checked by the session fixture
`visited_pages` (tests/browser/conftest.py) with the Nu HTML checker at the session's end."""
from .conftest import require_java


def test_pages_of_the_browser_tests_go_through_the_nu_html_checker(visited_pages):
    require_java()
    assert visited_pages is not None
