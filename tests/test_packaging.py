"""What an operator installs is the wheel, not this checkout: built from it and installed
into a virtual environment elsewhere, it must run from any folder with its own files only
(the Alembic migrations above all)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from tests.builders import creator, expected_net, expected_parts, licensee, license, sha, work
from tests.builders import write_jsonl
from tests.conftest import migrated_database

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# What a build needs from the checkout; the rest (.venv, caches, build output) stays out,
# as .dockerignore keeps it out of the image's build.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", "build", "dist",
                                     "*.egg-info", "out", ".pytest_cache", ".hypothesis",
                                     ".royalty")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n" \
                                   f"{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel as an operator builds it (pip, isolated build), from a copy of the
    checkout so that the build's own output never lands in it."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    ok(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
            str(base / "dist"), str(source)], cwd=base))
    (built,) = (base / "dist").glob("royalty_ledger-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the checkout with the wheel installed (not
    editable). Its dependencies come from this test environment's site-packages through
    a path entry, which adds their directory but runs none of its .pth files: the
    editable finder that maps `ledger` to the checkout stays out."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    ok(run([sys.executable, "-m", "venv", "--without-pip", str(where)], cwd=where.parent))
    python = where / "bin" / "python"
    site = Path(ok(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                      cwd=where.parent)).strip())
    (site / "_royalty_test_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    ok(run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
            "--quiet", str(wheel)], cwd=where.parent))
    return where


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working folder that is not the checkout and holds nothing of it."""
    folder = tmp_path / "operator"
    folder.mkdir()
    return folder


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    """A new database with no schema at all: `royalty db upgrade` builds it."""
    yield from migrated_database(server_url, "royalty_wheel", revision=None)


def operator_env(database_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ROYALTY_BROKER_URL"}}
    # No broker URL: the embedded broker lives in the same (throwaway) database, so nothing
    # this test publishes can reach another test's queues.
    env.update(ROYALTY_DATABASE_URL=database_url, ROYALTY_HOME=str(home))
    return env


def checkout_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_installed_wheel_upgrades_imports_ingests_and_reports_from_any_folder(
        venv: Path, elsewhere: Path, empty_database: str) -> None:
    env = operator_env(empty_database, elsewhere / "home")
    royalty = str(venv / "bin" / "royalty")

    assert ok(run([royalty, "--version"], elsewhere, env)) == \
        f"royalty-ledger {PYPROJECT['project']['version']}\n"

    where = json.loads(ok(run([str(venv / "bin" / "python"), "-c",
                               "import json, ledger; print(json.dumps(ledger.__file__))"],
                              elsewhere, env)))
    assert Path(where).is_relative_to(venv), f"ledger was imported from {where}"

    upgraded = ok(run([royalty, "db", "upgrade"], elsewhere, env))
    assert f"database at revision {checkout_head()}" in upgraded
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] \
            == checkout_head()

    shares = {"alice": "0.7", "bob": "0.3"}
    write_jsonl(elsewhere / "creators.jsonl", [creator("alice"), creator("bob")])
    write_jsonl(elsewhere / "licensees.jsonl", [licensee("acme-ai")])
    write_jsonl(elsewhere / "works.jsonl", [work("w-1", shares)])
    write_jsonl(elsewhere / "licenses.jsonl", [license("acme-train", price="0.0023", fee="0.15")])
    for kind, rows in (("creators", 2), ("licensees", 1), ("works", 1), ("licenses", 1)):
        imported = ok(run([royalty, "import", kind, f"{kind}.jsonl"], elsewhere, env))
        assert f"{rows} created" in imported
    listed = json.loads(ok(run([royalty, "creators", "list", "--format", "json"], elsewhere, env)))
    assert [row["creator"] for row in listed] == ["alice", "bob"]

    items = [{"sha256": sha("w-1")}, {"sha256": sha("w-1")}, {"sha256": sha("nothing")}]
    write_jsonl(elsewhere / "events.jsonl", [
        {"specversion": "1.0", "type": "io.royaltyledger.usage.v1", "source": "urn:test:wheel",
         "id": f"e-{n}", "time": "2026-11-02T10:00:00Z",
         "data": {"licensee": "acme-ai", "purpose": "ai-train", "model": "m", "item": item,
                  "quantity": "1", "unit": "uses"}} for n, item in enumerate(items)])
    ok(run([royalty, "emit", "events.jsonl"], elsewhere, env))

    worker = subprocess.Popen([royalty, "worker", "--no-beat", "--loglevel", "WARNING"],
                              cwd=elsewhere, env=env, stdout=subprocess.DEVNULL,
                              stderr=(elsewhere / "worker.log").open("w"))
    try:
        ok(run([royalty, "status", "--wait-idle", "--timeout", "90"], elsewhere, env))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    status = json.loads(ok(run([royalty, "status", "--format", "json"], elsewhere, env)))
    assert status["events"] == {"received": 3, "accepted": 3, "duplicates": 0,
                                "dead_letters": 0, "pending": 0}
    assert status["outcomes"] == {"accrued": 2, "unmatched": 1, "unlicensed": 0,
                                  "opted_out": 0, "unpriced": 0}

    balances = json.loads(ok(run([royalty, "report", "balances", "--format", "json"],
                                 elsewhere, env)))
    parts = expected_parts(expected_net("1", "0.0023", "0.15"), shares)
    assert {row["creator"]: Decimal(row["balance"]) for row in balances} == \
        {c: 2 * amount for c, amount in parts.items()}


# Every file the installed package reads by path at run time, as the installed code itself
# finds it: the Alembic environment, its script template and every revision.
RUNTIME_FILES = """
import json
from ledger import migrate
from alembic.script import ScriptDirectory

scripts = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused/none"))
print(json.dumps({
    "migrations": str(migrate.migrations_dir()),
    "env": str(migrate.migrations_dir() / "env.py"),
    "template": str(migrate.migrations_dir() / "script.py.mako"),
    "revisions": {rev.revision: rev.path for rev in scripts.walk_revisions()},
}))
"""


def test_every_file_the_package_reads_at_run_time_is_inside_the_installed_package(
        venv: Path, elsewhere: Path) -> None:
    found = json.loads(ok(run([str(venv / "bin" / "python"), "-c", RUNTIME_FILES], elsewhere,
                              operator_env("postgresql://unused/none", elsewhere))))
    package = Path(json.loads(ok(run(
        [str(venv / "bin" / "python"), "-c", "import json, ledger; "
         "print(json.dumps(ledger.__file__))"], elsewhere,
        operator_env("postgresql://unused/none", elsewhere))))).parent
    assert package.is_relative_to(venv)
    paths = [found["migrations"], found["env"], found["template"],
             *found["revisions"].values()]
    assert [p for p in paths if not Path(p).is_relative_to(package)] == []
    assert [p for p in paths if not Path(p).is_file() and p != found["migrations"]] == []
    checkout = {p.stem.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert set(found["revisions"]) == checkout


# Ways code finds a file next to itself. A new one must be added to the check above (and to
# the wheel, in pyproject.toml); this list says which modules do it today.
PATH_LOOKUPS = re.compile(r"__file__|importlib\.resources|pkgutil\.get_data|pkg_resources")


def test_only_the_known_modules_look_files_up_by_path() -> None:
    modules = sorted(str(path.relative_to(ROOT)) for folder in ("ledger", "workers")
                     for path in (ROOT / folder).rglob("*.py")
                     if PATH_LOOKUPS.search(path.read_text(encoding="utf-8")))
    assert modules == ["ledger/migrate.py"], \
        "a module reads files by path: check that the wheel carries them (test above)"


def test_the_wheel_carries_every_source_file_of_the_checkout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        carried = set(archive.namelist())
    expected = {str(p.relative_to(ROOT)) for folder in ("ledger", "workers")
                for p in (ROOT / folder).rglob("*") if p.is_file()
                and "__pycache__" not in p.parts}
    expected |= {"ledger/" + str(p.relative_to(ROOT)) for p in (ROOT / "migrations").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert sorted(expected - carried) == []
