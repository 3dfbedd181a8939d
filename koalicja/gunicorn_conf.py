"""Gunicorn settings for production:  gunicorn -c python:koalicja.gunicorn_conf app:app

Every value can be changed with an environment variable (in brackets) without editing this
file. Put gunicorn behind a TLS-terminating proxy (nginx, Caddy) on the same machine.

- Workers and threads [GUNICORN_WORKERS=2, GUNICORN_THREADS=4]: each worker is a process
  with its own page cache and database connections; threads let one worker wait on the
  database or a slow client while another request runs. Two workers per core is plenty:
  the app spends most of a request in Python, not waiting. Measured in bench/README.md: 2
  workers x 4 threads on 2 cores; a worker costs the machine 59-67 MB (PSS); its resident
  size (90-97 MB) counts in full the pages it shares with the master and the other worker.
- Timeouts [GUNICORN_TIMEOUT=30]: a worker silent for this long is killed and replaced
  (a request that hangs on a dead database must not hold a worker forever);
  graceful_timeout lets requests in flight finish on restart; keepalive keeps browser
  connections open between page and assets (the proxy in front holds them longer).
- Access log: written by the app itself (koalicja/serving/access_log.py) as one JSON line per request
  on stderr, without query strings and with one-time link tokens replaced by the route
  pattern. Gunicorn's own access log would print raw request lines (tokens, search terms),
  so it is off unless GUNICORN_ACCESS_LOG names a file or "-" for stdout.
- Error log on stderr [GUNICORN_LOG_LEVEL=info]: starts, stops, killed workers.
- Database: with SQLite all workers share one file (WAL); with several servers use
  PostgreSQL (DATABASE_URL). Each worker's pool: up to 5+10 connections.
- Rate limits [RATELIMIT_STORAGE_URI]: with more than one worker, production refuses to
  start while the limits are counted in each worker's memory (memory://); use Redis.
- Memory [GUNICORN_PRELOAD=true]: the app is loaded once in the master and shared by the
  workers; each worker then adds only what it allocates itself (bench/README.md).
"""
import gc
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Set in the server's environment before the app loads: the web workers run no migrations, so
# the app leaves Flask-Migrate (Alembic, ~10 MB per worker) out (koalicja/__init__.py).
raw_env = ["KOALICJA_WEB_SERVER=1"]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Requests wait in the socket's queue (not in a worker) when every thread is busy.
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))

# Limits against oversized requests (the app's largest form is a few kilobytes).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'  # path only, when switched on
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The proxy in front sets X-Forwarded-For/-Proto; trust it only from this machine.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Heartbeat files in memory, not on a possibly slow disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The app is loaded once, before forking: the workers share its code and data (copy on
# write) instead of each importing everything again. Nothing connects to the database while
# loading, and post_fork() gives each worker fresh connection pools anyway.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() not in ("0", "false", "no")


def on_starting(server):
    """Refuse to start when the workers could not share the rate limits (koalicja/config.py).

    Runs in the master after a preloaded app is loaded and before any worker: the app is
    checked here with the real number of workers (a `-w` on the command line included), and
    workers that load the app themselves (GUNICORN_PRELOAD=false) read it from the environment.
    """
    from koalicja.config import WEB_WORKERS_VARIABLE, check_shared_limits

    os.environ[WEB_WORKERS_VARIABLE] = str(server.cfg.workers)
    app = server.app.callable  # the preloaded app, None without preloading
    config = getattr(app, "config", None)
    if config is not None and "KOALICJA_ENV" in config:
        check_shared_limits(config, server.cfg.workers)  # ConfigError: gunicorn prints it and exits 1


def pre_fork(server, worker):
    # Objects loaded so far stay put: the collector then never writes to (and so copies)
    # the pages the workers share with the master.
    gc.freeze()


def post_fork(server, worker):
    from koalicja.serving import after_fork

    after_fork(worker.app.wsgi())

proc_name = "koalicja"

# gunicorn 25+ opens a control socket in ~/.gunicorn by default; one fixed path for every
# instance on the machine. Off unless GUNICORN_CONTROL_SOCKET names one.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
