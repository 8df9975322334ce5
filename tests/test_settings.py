"""Settings come from the environment, are checked at start-up, and README lists every one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from milepost.config.settings import env_int, env_rate

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "milepost"

# os.environ.get("X"), os.environ["X"], os.environ.setdefault("X"), env_bool/env_list/env_int/
# env_rate("X"): every way the code reads a variable.
ENV_READ = re.compile(
    r"""(?:os\.environ(?:\.get|\.setdefault)?\s*[\[(]|env_(?:bool|list|int|rate)\()\s*"([A-Z_]+)\""""
)
NOT_OURS = {"DJANGO_SETTINGS_MODULE"}  # set by the entry points, not a setting


def _settings_in_subprocess(env: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import json, milepost.config.settings as s;"
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILEPOST_")}
    clean["MILEPOST_VAR_DIR"] = os.environ.get("MILEPOST_VAR_DIR", str(ROOT / "var"))
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code],
        env={**clean, "MILEPOST_TESTING": "1", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_readme_lists_every_environment_variable_the_code_reads() -> None:
    read = {
        name
        for path in SRC.rglob("*.py")
        for name in ENV_READ.findall(path.read_text(encoding="utf-8"))
    } - NOT_OURS
    assert {"MILEPOST_API_RATE_LIMIT", "MILEPOST_NOTIFICATION_SEND_HOUR", "DATABASE_URL"} <= read
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = sorted(name for name in read if f"`{name}`" not in table)
    assert missing == [], f"README's configuration table lacks {missing}"


def test_limits_and_send_hour_have_documented_defaults() -> None:
    names = (
        "MILEPOST_API_RATE_LIMIT",
        "MILEPOST_API_AUTH_FAILURE_LIMIT",
        "NOTIFICATION_SEND_HOUR",
        "MILEPOST_SIGNIN_LOCK_AFTER",
        "MILEPOST_SIGNIN_ADDRESS_LIMIT",
    )
    result = _settings_in_subprocess({}, *names)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "MILEPOST_API_RATE_LIMIT": "600/60",
        "MILEPOST_API_AUTH_FAILURE_LIMIT": "30/60",
        "NOTIFICATION_SEND_HOUR": 9,
        "MILEPOST_SIGNIN_LOCK_AFTER": 5,
        "MILEPOST_SIGNIN_ADDRESS_LIMIT": "20/600",
    }


def test_limits_and_send_hour_come_from_the_environment() -> None:
    result = _settings_in_subprocess(
        {
            "MILEPOST_API_RATE_LIMIT": "1200/30",
            "MILEPOST_API_AUTH_FAILURE_LIMIT": " 5/300 ",
            "MILEPOST_NOTIFICATION_SEND_HOUR": "7",
        },
        "MILEPOST_API_RATE_LIMIT",
        "MILEPOST_API_AUTH_FAILURE_LIMIT",
        "NOTIFICATION_SEND_HOUR",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "MILEPOST_API_RATE_LIMIT": "1200/30",
        "MILEPOST_API_AUTH_FAILURE_LIMIT": "5/300",
        "NOTIFICATION_SEND_HOUR": 7,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MILEPOST_API_RATE_LIMIT", "600"),
        ("MILEPOST_API_RATE_LIMIT", "0/60"),
        ("MILEPOST_API_AUTH_FAILURE_LIMIT", "ten/60"),
        ("MILEPOST_NOTIFICATION_SEND_HOUR", "24"),
        ("MILEPOST_NOTIFICATION_SEND_HOUR", "nine"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)

    def read() -> object:
        if name.endswith("_HOUR"):
            return env_int(name, 9, low=0, high=23)
        return env_rate(name, "600/60")

    with pytest.raises(ImproperlyConfigured, match=name):
        read()


def test_start_up_stops_on_a_malformed_value() -> None:
    result = _settings_in_subprocess({"MILEPOST_API_RATE_LIMIT": "lots"}, "DEBUG")
    assert result.returncode != 0
    assert "ImproperlyConfigured: MILEPOST_API_RATE_LIMIT" in result.stderr


def test_prepared_statements_are_on_by_default_and_can_be_turned_off() -> None:
    """PostgreSQL connections prepare the hot queries (`milepost.prepared`) unless
    MILEPOST_DB_PREPARED_STATEMENTS=0 (a pooler that cannot keep them)."""
    url = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/milepost"}
    for env, threshold in (({}, 0), ({"MILEPOST_DB_PREPARED_STATEMENTS": "0"}, None)):
        result = _settings_in_subprocess({**url, **env}, "DATABASES")
        assert result.returncode == 0, result.stderr
        options = json.loads(result.stdout)["DATABASES"]["default"]["OPTIONS"]
        assert options["prepare_threshold"] == threshold, env
