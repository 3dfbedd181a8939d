"""A throw-away PostgreSQL cluster for the tests (Debian's `postgresql` package).

The cluster lives in a fresh temporary directory, listens on 127.0.0.1 on a free port,
runs without fsync (nothing in it must survive) and is removed at the end of the session.
As root, the server runs as the `postgres` user, like Debian's own clusters; as anyone else,
as that user. Each test gets its own database, copied from a template in a few milliseconds.
"""
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
import time

MISSING_POSTGRESQL = (
    "Brak PostgreSQL: zainstaluj pakiet Debiana 'postgresql' (apt-get install postgresql), "
    "inaczej testy na PostgreSQL zostaną pominięte."
)


def postgresql_bindir():
    """Where initdb and pg_ctl are: $PG_BINDIR when set, else the newest /usr/lib/postgresql/<n>/bin."""
    if os.environ.get("PG_BINDIR"):
        candidates = [os.environ["PG_BINDIR"]]
    else:
        candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]), reverse=True)
    for bindir in candidates:
        if os.access(os.path.join(bindir, "initdb"), os.X_OK) and os.access(os.path.join(bindir, "pg_ctl"), os.X_OK):
            return bindir
    return None


class PostgresCluster:
    def __init__(self, bindir, port):
        self.bindir = bindir
        self.port = port
        self.directory = None
        self._numbers = itertools.count(1)

    # -- running commands, as `postgres` when we are root (initdb refuses to run as root) --

    def _run(self, *args):
        command = [os.path.join(self.bindir, args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")

    def start(self, durable=False):
        """Start the cluster; `durable` keeps fsync and synchronous commits on (benchmarks of writes)."""
        self.directory = tempfile.mkdtemp(prefix="koalicja-pg-")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        data = os.path.join(self.directory, "data")
        try:
            # Polish collation (ICU), as on a server set up in Poland: ORDER BY and LIKE must not
            # depend on the C locale of a test machine.
            self._run(
                "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=pl-PL",
            )
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c max_connections=200"
            if not durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            log = os.path.join(self.directory, "server.log")
            self._run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start")
        except subprocess.CalledProcessError as error:
            log = self.log_tail()
            self.remove()
            raise RuntimeError(f"PostgreSQL did not start: {error.stderr.decode(errors='replace')}\n{log}") from error
        return self

    def stop(self):
        if self.directory is None:
            return
        try:
            self._run("pg_ctl", "-D", os.path.join(self.directory, "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        self.remove()

    def remove(self):
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def log_tail(self):
        try:
            with open(os.path.join(self.directory, "server.log"), errors="replace") as log:
                return log.read()[-3000:]
        except (OSError, TypeError):
            return ""

    # -- databases --

    def url(self, name):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def _admin(self, statement):
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, template="template0"):
        """A new database (a copy of `template`); returns its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        # FILE_COPY copies the template's files: a few ms, against ~20 for the WAL_LOG default.
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url):
        name = url.rsplit("/", 1)[1]
        for attempt in range(3):
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except Exception:  # noqa: BLE001  (a backend still exiting; try again)
                if attempt == 2:
                    raise
                time.sleep(0.1)

    def create_template(self, name, build):
        """A database prepared by `build(url)` (e.g. the schema), to copy for each test."""
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        build(self.url(name))
        # Copying needs the template without connections; `build` must dispose its engine.
        self._admin(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
