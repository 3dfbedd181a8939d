"""`make run PORT=5091` serves on that port, and the links in e-mails point there too."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="Brak programu make (pakiet Debiana 'make').")
def test_make_run_on_another_port_makes_links_to_that_port():
    commands = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", "PORT=5091"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    flask_commands = [line for line in commands.splitlines() if "flask --app app" in line]
    assert any(line.rstrip().endswith("--port 5091") for line in flask_commands)
    for subcommand in ("init-db", "seed-demo", "send-mail", "run"):
        [line] = [line for line in flask_commands if f"app {subcommand}" in line]
        assert "BASE_URL=http://127.0.0.1:5091 " in line, line
