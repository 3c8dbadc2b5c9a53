"""The container files agree with the code they start.

No Docker engine runs here, so nothing is built. Instead every command the stack would run is
resolved against the installed project (the import, the CLI subcommand, each option), every
variable the stack passes is one the settings read, and the image's healthcheck probe is
replayed through Django. A renamed module, a typo'd option or a new setting without an
.env.example entry fails here instead of in a crash-looping container.
"""

import ast
import fnmatch
import importlib
import json
import re
import shlex
import subprocess
import sys
import urllib.request
import warnings
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from celery.app.utils import find_app
from celery.bin.base import CLIContext
from celery.bin.celery import celery as celery_cli
from django.core.management import CommandError, get_commands, load_command_class
from django.test import Client
from pytest_django.fixtures import Settings

from legalops.env import env_bool, env_list

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat")


# --- readers ------------------------------------------------------------------------------


@cache
def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


def _service(name: str) -> dict[str, Any]:
    return _compose()["services"][name]


@cache
def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DOCKER / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: {line!r} is not NAME=value"
            assert name not in values, f".env.example sets {name} twice"
            values[name] = value
    return values


@cache
def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (DOCKER / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        # Docker drops comment lines even in the middle of a continued instruction.
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continued instruction"
    return instructions


def _instructions(keyword: str) -> list[str]:
    return [arguments for name, arguments in _dockerfile() if name == keyword]


def _image_cmd() -> list[str]:
    commands = _instructions("CMD")
    assert len(commands) == 1, "the Dockerfile needs exactly one CMD"
    # Exec form: a shell form would wrap gunicorn in /bin/sh, which swallows SIGTERM.
    return json.loads(commands[0])


def _healthcheck_code() -> str:
    (healthcheck,) = _instructions("HEALTHCHECK")
    _, _, exec_form = healthcheck.partition(" CMD ")
    argv = json.loads(exec_form)
    assert argv[:2] == ["python", "-c"], "the probe runs python's urllib (no curl in slim)"
    return argv[2]


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def _service_argv(name: str) -> list[str]:
    command = _service(name).get("command")
    return _argv(command) if command is not None else _image_cmd()


def _settings_env_reads() -> set[str]:
    """Names settings.py reads from the environment, through legalops.env or os directly."""
    tree = ast.parse((ROOT / "legalops" / "settings.py").read_text())
    readers = {"env_str", "env_bool", "env_int", "env_list", "getenv", "get"}
    names: set[str] = set()
    for node in ast.walk(tree):
        target: ast.expr | None = None
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            # A bare .get() is a dict lookup; only os.environ.get reads the environment.
            is_environ_get = called == "get" and ast.unparse(func).endswith("environ.get")
            if called in readers - {"get"} or is_environ_get:
                target = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("environ"):
            target = node.slice
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            names.add(target.value)
    return names


# --- command resolvers --------------------------------------------------------------------


def _check_gunicorn(args: list[str]) -> None:
    import gunicorn.config

    try:
        parsed = gunicorn.config.Config().parser().parse_args(args)
    except SystemExit as exc:  # argparse exits on an unknown option
        pytest.fail(f"gunicorn rejects {args}: exit {exc.code}")
    (app_uri,) = parsed.args
    module_name, _, attribute = app_uri.partition(":")
    module = importlib.import_module(module_name)
    application = getattr(module, attribute, None)
    assert callable(application), f"{app_uri} is not a WSGI callable"
    assert parsed.bind == ["0.0.0.0:8000"], "gunicorn must listen where EXPOSE and ports say"


def _check_celery(args: list[str], subcommand: str) -> None:
    ctx = celery_cli.make_context("celery", args)
    app_name = ctx.params["app"]
    assert app_name == "legalops", "celery -A must name the project's app"
    import legalops.celery

    # find_app is what `celery -A` itself calls to turn the name into the app object.
    assert find_app(app_name) is legalops.celery.app
    with warnings.catch_warnings():
        # Click 8.2 deprecates protected_args; Click 9 folds them into args.
        warnings.simplefilter("ignore", DeprecationWarning)
        rest = [*getattr(ctx, "protected_args", []), *ctx.args]
    name, command, sub_args = celery_cli.resolve_command(ctx, rest)
    assert name == subcommand, f"expected celery {subcommand}, got {name}"
    assert command is not None, f"{name} is not a celery subcommand"
    # Some option callbacks (beat's --schedule default) read the app from the parent context.
    ctx.obj = CLIContext(app=legalops.celery.app, no_color=True, workdir=None, quiet=True)
    try:
        command.make_context(name, sub_args, parent=ctx)
    except click.UsageError as exc:
        pytest.fail(f"celery {name} rejects {sub_args}: {exc}")


def _check_manage(args: list[str]) -> None:
    assert (ROOT / "manage.py").is_file()
    name, *rest = args
    commands = get_commands()
    assert name in commands, f"{name} is not a Django management command"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(rest)
    except CommandError as exc:
        pytest.fail(f"manage.py {name} rejects {rest}: {exc}")


def _check_argv(argv: list[str], celery_subcommand: str | None = None) -> None:
    program, *args = argv
    if program == "gunicorn":
        _check_gunicorn(args)
    elif program == "celery":
        assert celery_subcommand is not None, f"unexpected celery command {argv}"
        _check_celery(args, celery_subcommand)
    elif program == "python" and args[:1] == ["manage.py"]:
        _check_manage(args[1:])
    else:
        pytest.fail(f"no resolver for {argv}")


# --- compose ------------------------------------------------------------------------------


def test_compose_defines_the_whole_stack() -> None:
    assert set(_compose()["services"]) >= {*APP_SERVICES, "postgres", "redis"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_from_the_dockerfile(name: str) -> None:
    build = _service(name)["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT, "the build context is the repository root"
    assert (context / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"


@pytest.mark.parametrize(
    ("name", "program", "celery_subcommand"),
    [
        ("web", "gunicorn", None),
        ("worker", "celery", "worker"),
        ("beat", "celery", "beat"),
        ("migrate", "python", None),
    ],
)
def test_app_service_command_resolves(
    name: str, program: str, celery_subcommand: str | None
) -> None:
    argv = _service_argv(name)
    assert argv[0] == program
    _check_argv(argv, celery_subcommand)


def test_postgres_starts_with_a_1gb_buffer_cache() -> None:
    assert _service("postgres")["command"] == ["postgres", "-c", "shared_buffers=1GB"]


def test_migrate_runs_migrate() -> None:
    assert _service_argv("migrate")[:3] == ["python", "manage.py", "migrate"]


def test_worker_concurrency_is_two() -> None:
    argv = _service_argv("worker")
    assert argv[argv.index("--concurrency") + 1] == "2"


def test_worker_healthcheck_pings_that_worker() -> None:
    kind, command = _service("worker")["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    # Compose turns $$ into $, then the shell expands it: any hostname stands in for it.
    argv = _argv(command.replace("$$HOSTNAME", "worker-host"))
    _check_argv(argv, celery_subcommand="inspect")
    assert "celery@worker-host" in argv, "the probe must ping this worker, not any worker"


@pytest.mark.parametrize("name", [n for n in APP_SERVICES if n != "web"])
def test_services_without_a_web_server_do_not_inherit_the_http_probe(name: str) -> None:
    healthcheck = _service(name).get("healthcheck", {})
    assert healthcheck.get("disable") or healthcheck.get("test"), (
        f"{name} would inherit the image's /healthz probe and be marked unhealthy"
    )


def test_web_keeps_the_image_healthcheck_and_port() -> None:
    web = _service("web")
    assert "healthcheck" not in web
    assert any(str(port).endswith(":8000") for port in web["ports"])


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_app_service_waits_for_migrations_and_healthy_backends(name: str) -> None:
    depends_on = _service(name)["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_migrate_is_one_shot_after_postgres() -> None:
    migrate = _service("migrate")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart", "no") == "no"


def test_backends_have_healthchecks() -> None:
    postgres, redis = _service("postgres"), _service("redis")
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(
        str(volume).split(":")[0] in _compose()["volumes"] for volume in postgres["volumes"]
    ), "the database must live on a named volume"
    assert redis["image"] == "redis:7"
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]


def test_database_url_matches_the_postgres_service() -> None:
    url = urlsplit(_env_example()["DATABASE_URL"])
    environment = _service("postgres")["environment"]
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == environment["POSTGRES_USER"]
    assert url.password == environment["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == environment["POSTGRES_DB"]
    assert _env_example()["CELERY_BROKER_URL"] == "redis://redis:6379/0"


def _var_mount(name: str) -> tuple[str, str]:
    mounts = [str(volume).split(":") for volume in _service(name)["volumes"]]
    targets = [(source, target) for source, target, *_ in mounts if target == "/app/var"]
    assert targets, f"{name} does not mount the var volume at /app/var"
    return targets[0]


def test_web_worker_and_beat_share_one_var_volume() -> None:
    env = _env_example()
    sources = {_var_mount(name)[0] for name in LONG_RUNNING}
    assert len(sources) == 1, "uploads and packages must be on the same volume everywhere"
    assert sources <= set(_compose()["volumes"]), "the var volume must be a named volume"
    var_dir = PurePosixPath(_var_mount("web")[1])
    assert PurePosixPath(env["LEGALOPS_VAR_DIR"]) == var_dir
    assert PurePosixPath(env["MEDIA_ROOT"]).is_relative_to(var_dir)
    assert f'"{var_dir}"' in _instructions("VOLUME")[0]


def test_beat_schedule_file_lives_on_the_var_volume() -> None:
    argv = _service_argv("beat")
    option = "--schedule" if "--schedule" in argv else "-s"
    schedule = PurePosixPath(argv[argv.index(option) + 1])
    assert schedule.is_relative_to(_var_mount("beat")[1])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_read_the_env_file(name: str) -> None:
    env_file = _service(name)["env_file"]
    assert env_file == ".env" or env_file == [".env"]
    for variable in _service(name).get("environment", {}):
        assert variable in _env_example(), f"{name} sets {variable}, not in .env.example"


def test_every_interpolated_variable_is_in_env_example() -> None:
    # $$ is compose's escape for a literal $ handed to the container's shell.
    text = (DOCKER / "compose.yml").read_text().replace("$$", "")
    referenced = {a or b for a, b in re.findall(r"\$\{(\w+)[^}]*\}|\$(\w+)", text)}
    assert referenced <= set(_env_example()), referenced - set(_env_example())


# --- .env.example -------------------------------------------------------------------------


def test_env_example_lists_exactly_what_settings_read() -> None:
    reads = _settings_env_reads()
    listed = set(_env_example())
    assert listed - reads == set(), "in .env.example but never read by legalops/settings.py"
    assert reads - listed == set(), "read by legalops/settings.py but missing in .env.example"


def test_env_example_comments_every_variable() -> None:
    lines = (DOCKER / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            above = lines[index - 1] if index else ""
            assert above.startswith("#"), f"{line.split('=')[0]} has no comment line above it"


def test_env_example_is_safe_to_copy() -> None:
    env = _env_example()
    assert env["DEBUG"] == "0"
    assert "replace" in env["SECRET_KEY"].lower(), "SECRET_KEY must read as a placeholder"


def test_env_example_passes_djangos_deploy_checks() -> None:
    # A subprocess, because settings are read once per process and this one runs DEBUG=1.
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "legalops.settings"}
    argv = [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--tag", "security"]
    result = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        [*argv, "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **_env_example()},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- Dockerfile ---------------------------------------------------------------------------


def test_dockerfile_base_image_and_layout() -> None:
    assert _instructions("FROM") == ["python:3.11-slim-bookworm"]
    assert _instructions("WORKDIR") == ["/app"]
    assert _instructions("EXPOSE") == ["8000"]
    assert not _instructions("ENTRYPOINT"), "compose commands assume no ENTRYPOINT wrapper"


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = _instructions("USER")
    assert users, "the Dockerfile has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # Nothing after the last USER may switch back to root.
    last_user = max(i for i, (name, _) in enumerate(_dockerfile()) if name == "USER")
    assert all(name not in {"RUN", "USER"} for name, _ in _dockerfile()[last_user + 1 :])


def test_dockerfile_installs_weasyprints_libraries_and_the_project() -> None:
    runs = " ".join(_instructions("RUN"))
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"):
        assert package in runs.split(), f"{package} is not installed"
    assert "fonts-dejavu-core" in runs.split(), "a PDF needs at least one font"
    assert "pip install -c constraints.txt ." in runs


def test_dockerfile_cmd_is_gunicorn() -> None:
    cmd = _image_cmd()
    assert cmd[:2] == ["gunicorn", "legalops.wsgi:application"]
    _check_argv(cmd)


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = set(_dockerignore())
    required = {".git", ".venv", "var", "**/__pycache__", ".hypothesis", ".pytest_cache"}
    assert required <= patterns, required - patterns


def test_dockerfile_copies_only_what_the_context_holds() -> None:
    ignored = _dockerignore()
    for arguments in _instructions("COPY"):
        *sources, _ = [part for part in arguments.split() if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), (
                f"COPY {source}: excluded by .dockerignore"
            )


@pytest.mark.django_db
@pytest.mark.parametrize("allowed_hosts", ["from .env.example", ".example.com", "*"])
def test_image_healthcheck_probe_gets_a_200(
    allowed_hosts: str,
    client: Client,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _env_example()
    hosts = env["ALLOWED_HOSTS"] if allowed_hosts == "from .env.example" else allowed_hosts
    for name in ("ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.setenv("ALLOWED_HOSTS", hosts)
    # The deployed security settings, as settings.py derives them from the example with DEBUG=0.
    settings.ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    settings.SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    if env_bool("SECURE_PROXY_SSL_HEADER"):
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    sent: list[urllib.request.Request] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: sent.append(request))
    exec(compile(_healthcheck_code(), "HEALTHCHECK", "exec"), {})  # noqa: S102 (our Dockerfile)

    (request,) = sent
    url = urlsplit(request.full_url)
    assert (url.hostname, url.port, url.path) == ("127.0.0.1", 8000, "/healthz")
    headers = {name.lower(): value for name, value in request.header_items()}
    response = client.get(
        url.path,
        HTTP_HOST=headers["host"],
        HTTP_X_FORWARDED_PROTO=headers.get("x-forwarded-proto", "http"),
    )
    assert response.status_code == 200, response.content
