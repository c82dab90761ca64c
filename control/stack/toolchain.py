"""What the stack needs from the machine: Java 17+, Maven, Debian packages, and the jars."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

from control.stack.base import StackError

MIN_JAVA = 17

log = logging.getLogger(__name__)


def check_java(java: str) -> str:
    """Return the java executable's path, or fail with how to fix it."""
    path = shutil.which(java)
    if path is None:
        raise StackError(
            f"HEADWATER_STACK__JAVA: {java!r} not found; install a JDK "
            f"{MIN_JAVA}+ (apt-get install openjdk-17-jre-headless) or point the setting at one"
        )
    try:
        done = subprocess.run(
            [path, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StackError(f"HEADWATER_STACK__JAVA: {path} -version failed: {error}") from error
    found = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr)
    if done.returncode != 0 or found is None:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        raise StackError(f"HEADWATER_STACK__JAVA: {path} is not a working Java: {first}")
    major = int(found.group(1)) if found.group(1) != "1" else int(found.group(2) or 0)
    if major < MIN_JAVA:
        raise StackError(
            f"HEADWATER_STACK__JAVA: {path} is Java {major}; Kafka 4 needs Java {MIN_JAVA}+"
        )
    return path


def check_maven(maven: str) -> str:
    """Return the mvn executable's path, or fail with how to fix it."""
    path = shutil.which(maven)
    if path is None:
        raise StackError(
            f"HEADWATER_STACK__MAVEN: {maven!r} not found; install Maven "
            "(apt-get install maven) or point the setting at mvn"
        )
    return path


def pom(name: str) -> Path:
    """The path of one of the POMs shipped with the stack."""
    return Path(str(files("control.stack") / "maven" / f"{name}.pom.xml"))


def fetch_jars(
    maven: str, pom_path: Path, target: Path, maven_repo: Path | None, exclude_groups: str = ""
) -> bool:
    """Copy a POM's runtime dependencies into target, once per POM content.

    Returns True when jars were fetched, False when the folder was already complete.
    The copy lands in a temporary folder first, so an interrupted fetch is retried whole.
    """
    digest = hashlib.sha256(pom_path.read_bytes()).hexdigest()
    stamp = target / ".complete"
    if stamp.exists() and stamp.read_text() == digest:
        return False
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    argv = [
        maven,
        "-B",
        "-q",
        "-f",
        str(pom_path),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
        "-DincludeScope=runtime",
    ]
    if exclude_groups:
        argv.append(f"-DexcludeGroupIds={exclude_groups}")
    if maven_repo is not None:
        argv.append(f"-Dmaven.repo.local={maven_repo}")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"fetching the jars of {pom_path.name} with Maven failed:\n{tail}")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    stamp.write_text(digest)
    return True


def ensure_debian_package(package: str, probe: Path, allowed: bool) -> None:
    """Install a Debian package when the file that proves it is there is missing."""
    if probe.exists():
        return
    how = f"apt-get install {package}"
    if not allowed:
        raise StackError(f"{probe} is missing: install it ({how})")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"{probe} is missing and this user cannot install it: run `{how}` as root")
    log.info("installing a Debian package", extra={"package": package})
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:  # the package lists may be missing or stale on a new machine
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, check=False)
        done = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0 or not probe.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise StackError(f"`{how}` failed:\n{tail}")
