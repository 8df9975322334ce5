#!/usr/bin/env python3
"""Known vulnerabilities in the runtime dependencies (`make security`).

Python: the runtime dependencies pinned by uv.lock (``uv export --no-dev`` when uv is installed,
else the same closure read from uv.lock here) are checked with ``pip-audit -r`` against the
PyPI vulnerability service. JavaScript: ``npm audit --omit=dev --audit-level=moderate``.

Exit status: 1 when a known vulnerability is reported (any for Python — pip-audit's service
gives no severity —, moderate or higher for npm); 0 otherwise. When a vulnerability service
does not answer, the script says so plainly (UNVERIFIED) instead of reporting "no known
vulnerability": it exits 0 then, or 2 with ``MILEPOST_AUDIT_STRICT=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"


def _marker_ok(marker: str | None) -> bool:
    if not marker:
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # keep the package: auditing one too many is harmless
        return True
    return bool(Marker(marker).evaluate({"extra": ""}))


def runtime_requirements_from_lock(lock_path: Path) -> list[str]:
    """``name==version`` of every package the project needs at run time (no dev group),
    following extras and environment markers, from uv.lock."""
    lock = tomllib.loads(lock_path.read_text())
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    root = next(p for p in lock["package"] if p.get("source", {}).get("editable") == ".")
    wanted: dict[str, str] = {}
    queue: list[tuple[dict[str, Any], tuple[str, ...]]] = [(root, ())]
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    while queue:
        package, extras = queue.pop()
        key = (package["name"], package.get("version", ""), extras)
        if key in seen:
            continue
        seen.add(key)
        if package is not root:
            wanted[package["name"]] = package["version"]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps.extend(package.get("optional-dependencies", {}).get(extra, []))
        for dep in deps:
            if not _marker_ok(dep.get("marker")):
                continue
            candidates = packages.get(dep["name"], [])
            if "version" in dep:
                candidates = [c for c in candidates if c["version"] == dep["version"]]
            for candidate in candidates[:1]:
                queue.append((candidate, tuple(sorted(dep.get("extra", [])))))
    return [f"{name}=={version}" for name, version in sorted(wanted.items())]


def runtime_requirements() -> tuple[list[str], str]:
    uv = shutil.which("uv") or (
        str(ROOT / ".tools/bin/uv") if (ROOT / ".tools/bin/uv").exists() else None
    )
    if uv:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            lines = [
                line.strip()
                for line in result.stdout.splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "-e"))
            ]
            return lines, "uv export --no-dev"
    return runtime_requirements_from_lock(ROOT / "uv.lock"), "uv.lock (uv not installed)"


def audit_python() -> tuple[int, int, list[str]]:
    """(packages audited, packages the service could not answer for, findings)."""
    requirements, source = runtime_requirements()
    print(f"Python runtime dependencies: {len(requirements)} (from {source})")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(requirements) + "\n")
        path = handle.name
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [
                str(VENV_BIN / "pip-audit"),
                "-r",
                path,
                "--no-deps",
                "--disable-pip",
                "--format",
                "json",
                "--progress-spinner",
                "off",
                "--timeout",
                "20",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(path)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"  pip-audit failed: {tail[0]}")
        return 0, len(requirements), []
    findings: list[str] = []
    skipped = 0
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason"):
            skipped += 1
            continue
        for vuln in dep.get("vulns", []):
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            findings.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    audited = len(report.get("dependencies", [])) - skipped
    return audited, skipped, findings


def audit_npm() -> tuple[bool, list[str]]:
    """(the service answered, findings of moderate or higher severity)."""
    npm = shutil.which("npm")
    if npm is None or not (ROOT / "package-lock.json").exists():
        print("npm or package-lock.json missing: npm audit not run")
        return False, []
    result = subprocess.run(  # noqa: S603 - fixed argv
        [npm, "audit", "--omit=dev", "--audit-level=moderate", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    if "error" in report or "vulnerabilities" not in report:
        error = report.get("error", {})
        summary = error.get("summary") if isinstance(error, dict) else str(error)
        if not summary:
            lines = [line for line in result.stderr.splitlines() if "audit" in line]
            summary = lines[0].strip() if lines else "no output"
        print(f"  npm audit: no answer from the registry's audit service ({summary})")
        return False, []
    findings = [
        f"{name}: {info.get('severity')} ({info.get('range', '')})"
        for name, info in report["vulnerabilities"].items()
        if info.get("severity") in {"moderate", "high", "critical"}
    ]
    return True, findings


def main() -> int:
    audited, skipped, py_findings = audit_python()
    print(f"  pip-audit: {audited} audited, {skipped} the service could not answer for")
    npm_answered, npm_findings = audit_npm()
    findings = py_findings + npm_findings
    unverified: list[str] = []
    if skipped:
        unverified.append(
            f"pip-audit: the vulnerability service (PyPI JSON API) did not answer for {skipped} "
            f"of {audited + skipped} Python packages"
        )
    if not npm_answered:
        unverified.append("npm audit: the registry's audit endpoint did not answer")
    print()
    if findings:
        print("KNOWN VULNERABILITIES in runtime dependencies:")
        for line in findings:
            print(f"  - {line}")
    if unverified:
        print("!" * 79)
        print("!!! UNVERIFIED: dependencies could NOT be checked for known vulnerabilities:")
        for line in unverified:
            print(f"!!!   {line}")
        print("!!! This is not a clean result. Run `make security` where the services answer.")
        print("!" * 79)
    if findings:
        return 1
    if unverified:
        return 2 if os.environ.get("MILEPOST_AUDIT_STRICT") == "1" else 0
    print("No known vulnerability in the runtime dependencies (Python and npm).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
