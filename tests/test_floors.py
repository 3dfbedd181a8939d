"""The floors of the code (README, "How the code is laid out"): a package imports only from its
own floor or the floors below it, so that a change to a coordinator's screen never reaches the
signing path and the mailer knows none of its customers."""
import ast
from pathlib import Path

import koalicja

PACKAGE = Path(koalicja.__file__).parent

# From the ground up; each name is a top-level module or package of koalicja.
FLOORS = [
    # Helpers every feature uses, which know no feature.
    {"config", "extensions", "text", "timeutil", "tokens", "links", "exports", "forms", "uploads", "proxies",
     "paging", "htmx", "locking", "security", "i18n", "serving", "mail", "backup", "printing"},
    # Coalitions and their texts as data, and who may act for them (access, audit).
    {"coalitions", "coordinators"},
    # Membership: signing, confirming, deciding, withdrawing.
    {"signatures"},
    # What an approved organisation adds to its entry (logo, website, description): the allies list shows it.
    {"profiles"},
    # The declaration's texts and the public list of allies, built on the signatures.
    {"declarations"},
    # Features built on membership.
    {"events", "announcements", "privacy", "sharing"},
    # The members' voice: consultations on the roll of allies, and decisions of the members' meetings.
    {"consultations"},
    # Beyond the app: widgets for other sites, the read API and the feeds, built on those features.
    {"reach"},
    # The coordinators' screens, and the funder's report over every feature.
    {"panel", "reports"},
    # Putting it together: the app factory, its commands, demo data, the model registry, gunicorn.
    {"__init__", "models", "cli", "demo", "gunicorn_conf", "migrations"},
]
FLOOR_OF = {name: number for number, names in enumerate(FLOORS) for name in names}


def top_level_name(module_path):
    relative = module_path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_top_level_names(source, package_parts):
    """The koalicja modules that the source of a module in `package_parts` (its folders under
    koalicja/) imports, at its top or inside functions."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [target[0]] if target else [alias.name for alias in node.names]
            elif node.module and node.module.split(".")[0] == "koalicja":
                parts = node.module.split(".")[1:]
                names = parts[:1] or [alias.name for alias in node.names]
            else:
                continue
            yield from ((name, node.lineno) for name in names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "koalicja" and len(parts) > 1:
                    yield parts[1], node.lineno


def test_every_module_of_the_package_stands_on_a_floor():
    names = {top_level_name(path) for path in PACKAGE.rglob("*.py")}
    assert names - set(FLOOR_OF) == set(), "add the new module to FLOORS (and to the README's drawing)"


def test_no_package_imports_from_a_floor_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = top_level_name(path)
        for imported, line in imported_top_level_names(path.read_text(), path.relative_to(PACKAGE).parent.parts):
            if imported != importer and FLOOR_OF.get(imported, -1) > FLOOR_OF[importer]:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {imported}")
    assert upward == []


def test_the_check_sees_imports_of_every_form():
    source = (
        "from ..extensions import db\n"
        "from . import models\n"
        "import koalicja.timeutil\n"
        "from koalicja.text import render_markdown\n"
        "def deliver():\n"
        "    from ..announcements.models import Announcement\n"
    )
    assert set(imported_top_level_names(source, ("mail",))) == {
        ("extensions", 1), ("mail", 2), ("timeutil", 3), ("text", 4), ("announcements", 6),
    }
