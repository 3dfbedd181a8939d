"""The systemd units in deploy/systemd/ and the environment file template deploy/koalicja.env.example.

`systemd-analyze verify` reads each unit as systemd would (syntax, known options, that each
command exists and is executable) with /srv/koalicja replaced by this checkout, so the
commands are the real ones of this checkout's .venv; `systemd-analyze security --offline`
scores the hardening. Every command a unit runs is then asked for its --help through the
app's own CLI, so a renamed command or option fails here, not at night on the server.
Without systemd-analyze (Debian's `systemd` package) those checks are skipped with a message.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from koalicja import create_app

PROJECT = Path(__file__).resolve().parents[2]
UNITS = PROJECT / "deploy" / "systemd"
ENV_EXAMPLE = PROJECT / "deploy" / "koalicja.env.example"
INSTALLED_AT = "/srv/koalicja"
SERVICES = sorted(UNITS.glob("*.service"))
TIMERS = sorted(UNITS.glob("*.timer"))
MISSING_SYSTEMD = (
    "Brak systemd-analyze: zainstaluj pakiet Debiana 'systemd' (apt-get install systemd), "
    "inaczej sprawdzenie jednostek z deploy/systemd/ zostanie pominięte."
)
# Read from the environment but set by the app itself, never by an administrator.
INTERNAL_VARIABLES = {"KOALICJA_WEB_SERVER", "KOALICJA_WEB_WORKERS"}


def _systemd_analyze():
    binary = shutil.which("systemd-analyze")
    if binary is None:
        pytest.skip(MISSING_SYSTEMD)
    return binary


@pytest.fixture
def rendered_units(tmp_path):
    """The units with /srv/koalicja pointing at this checkout (its .venv, its instance/)."""
    for unit in [*SERVICES, *TIMERS]:
        text = unit.read_text()
        assert INSTALLED_AT in text or unit.suffix == ".timer", unit.name
        (tmp_path / unit.name).write_text(text.replace(INSTALLED_AT, str(PROJECT)))
    return tmp_path


def _directives(unit, name):
    return [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith(f"{name}=")]


def test_every_timer_starts_a_service_of_the_kit():
    assert {timer.stem for timer in TIMERS} == {"koalicja-expire-holds", "koalicja-consultations", "koalicja-purge", "koalicja-backup"}
    for timer in TIMERS:
        assert (UNITS / f"{timer.stem}.service").exists(), timer.name
        assert _directives(timer, "OnCalendar"), timer.name


def test_systemd_analyze_verify_finds_nothing(rendered_units):
    binary = _systemd_analyze()
    units = sorted(str(path) for path in rendered_units.iterdir())
    completed = subprocess.run([binary, "verify", *units], capture_output=True, text=True)
    # verify reports a bad line and carries on ("…, ignoring"): any output is a finding.
    assert completed.returncode == 0 and not (completed.stdout + completed.stderr).strip(), completed.stdout + completed.stderr


@pytest.mark.parametrize("service", SERVICES, ids=lambda path: path.name)
def test_every_service_is_hardened(service, rendered_units):
    text = service.read_text()
    for option in ("User=koalicja", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                   "PrivateTmp=yes", "ReadWritePaths=/srv/koalicja/instance", "CapabilityBoundingSet=\n",
                   "EnvironmentFile=/etc/koalicja/koalicja.env"):
        assert option in text, (service.name, option)
    binary = _systemd_analyze()
    # systemd's own score of what the service could still do (0 = nothing, 10 = everything);
    # threshold 20 = "2.0", well inside what systemd calls "OK".
    completed = subprocess.run(
        [binary, "security", "--offline=yes", "--threshold=20", str(rendered_units / service.name)],
        capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout[-600:] + completed.stderr


def _commands():
    """(unit, argv) of every ExecStart/ExecStartPost that runs the app's flask CLI."""
    found = []
    for service in SERVICES:
        for directive in ("ExecStart", "ExecStartPost"):
            for line in _directives(service, directive):
                argv = shlex.split(line)
                if argv[0].endswith("/flask"):
                    assert argv[1:3] == ["--app", "app"], (service.name, line)
                    found.append((service.name, argv[3:]))
    return found


@pytest.fixture
def cli_app(tmp_path):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}"})


def test_every_flask_command_of_the_units_exists_with_its_options(cli_app):
    commands = _commands()
    assert {argv[0] for _, argv in commands} == {"send-mail", "expire-holds", "consultations-tick", "purge", "backup"}
    runner = cli_app.test_cli_runner()
    for unit, argv in commands:
        # Click parses every option before it answers --help: an unknown one is an error.
        result = runner.invoke(args=[*argv, "--help"])
        assert result.exit_code == 0, (unit, argv, result.output)
    assert runner.invoke(args=["restore", "--help"]).exit_code == 0  # deploy/README.md, "Restoring"


def test_the_web_unit_runs_gunicorn_with_the_apps_configuration(tmp_path):
    (line,) = _directives(UNITS / "koalicja.service", "ExecStart")
    argv = shlex.split(line)
    assert argv == [f"{INSTALLED_AT}/.venv/bin/gunicorn", "-c", "python:koalicja.gunicorn_conf", "app:app"]
    environment = {
        **os.environ, "KOALICJA_ENV": "production", "SECRET_KEY": "x" * 64,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "GUNICORN_WORKERS": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", *argv[1:]],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_environment_template_names_every_variable_the_app_reads():
    read = set()
    for path in (PROJECT / "koalicja").rglob("*.py"):
        read |= set(re.findall(r'(?:environ\.get|environ\[|getenv|_env_bool|_env_count)\(?\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    template = ENV_EXAMPLE.read_text()
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", template, flags=re.MULTILINE))
    missing = read - INTERNAL_VARIABLES - named
    assert not missing, f"deploy/koalicja.env.example does not mention: {sorted(missing)}"
    # and the required ones are set, not commented out
    for name in ("KOALICJA_ENV", "SECRET_KEY", "DATABASE_URL", "BASE_URL", "RATELIMIT_STORAGE_URI", "TRUSTED_PROXIES", "SMTP_HOST"):
        assert re.search(rf"^{name}=\S", template, flags=re.MULTILINE), name


def test_the_admin_command_runs_flask_as_the_units_do():
    """deploy/bin/koalicja: the same user, folder and environment file as every unit."""
    script = PROJECT / "deploy" / "bin" / "koalicja"
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    text = script.read_text()
    unit = (UNITS / "koalicja-mail.service").read_text()
    for value in ("koalicja", "/srv/koalicja", "/etc/koalicja/koalicja.env"):
        assert value in unit and value in text, value
    assert "/srv/koalicja/.venv/bin/flask --app app" in text
