"""A PostgreSQL server for the tests: the one ``RXSTEPS_TEST_POSTGRES`` names, or a
throwaway one started here.

:func:`server` returns the URL of a server the tests may create databases on (a
superuser's, or one with ``CREATEDB``), or the reason there is none. With
``RXSTEPS_TEST_POSTGRES`` set (``postgresql://user:password@host:port/database``, as
``.ci/run`` exports it) that server is used and its absence is a failure, not a skip.
Unset, the installed PostgreSQL's ``initdb`` and ``pg_ctl`` (Debian's
``/usr/lib/postgresql/<version>/bin``, or ``pg_config --bindir``) make a cluster in a
temporary directory, listening on a free loopback port with ``trust`` login — as the
``postgres`` user (``runuser``) when the tests run as root, since the server refuses
root — and :func:`stop` ends it.

:func:`new_database` makes an empty database per test, so tests never see each
other's runs; :func:`drop_database` removes it.

Example:
    >>> database_url("postgresql://u:pw@h:5/postgres", "rx_1")
    'postgresql://u:pw@h:5/rx_1'
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

ENV = "RXSTEPS_TEST_POSTGRES"

_started: dict[str, str] = {}  # data directory and pg_ctl of the server started here


def database_url(url: str, database: str) -> str:
    """``url`` with its database replaced by ``database``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0 and os.path.exists(os.path.join(out.stdout.strip(), "initdb")):
            return out.stdout.strip()
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _start() -> tuple[str | None, str]:
    """Start a throwaway server: its URL, or ``None`` and why not."""
    bindir = _bindir()
    if bindir is None:
        return None, ("no PostgreSQL server: set RXSTEPS_TEST_POSTGRES to a server's URL, "
                      "or install one (apt-get install postgresql) for the tests to start")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return None, "running as root without runuser: cannot start PostgreSQL as non-root"
    home = tempfile.mkdtemp(prefix="rxsteps-pg-")
    data = os.path.join(home, "data")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    port = _free_port()
    steps = [
        [os.path.join(bindir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
         "--no-sync", "-E", "UTF8", "--locale=C"],
        [os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(home, "log"),
         "-w", "-t", "60", "-o",
         f"-p {port} -c listen_addresses=127.0.0.1 -k {home} -c fsync=off "
         "-c max_connections=200", "start"],
    ]
    for command in steps:
        done = subprocess.run(_as_server_user(command), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            return None, (f"could not start PostgreSQL ({os.path.basename(command[0])} "
                          f"exit {done.returncode}: {(done.stderr or done.stdout).strip()})")
    _started.update(data=data, pg_ctl=steps[1][0], home=home)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", ""


def server() -> tuple[str | None, str]:
    """The URL of the tests' server, starting one if none is given; or ``None`` and why."""
    given = os.environ.get(ENV)
    if given:
        return given, ""
    return _start()


def stop() -> None:
    """Stop the server :func:`server` started, if it did, and remove its files."""
    if not _started:
        return
    subprocess.run(_as_server_user([_started["pg_ctl"], "-D", _started["data"], "-m",
                                    "immediate", "stop"]), capture_output=True, timeout=60)
    shutil.rmtree(_started["home"], ignore_errors=True)
    _started.clear()


def new_database(url: str) -> str:
    """Create an empty database on the server at ``url``; return its URL."""
    import psycopg

    name = f"rx_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        for attempt in range(5):  # template0 takes no sessions, but a busy server may
            try:
                conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    return database_url(url, name)


def drop_database(url: str, database_url_: str) -> None:
    """Drop a database :func:`new_database` made (its sessions ended first)."""
    import psycopg

    name = urlsplit(database_url_).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
