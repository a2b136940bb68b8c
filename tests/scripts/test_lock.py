"""requirements.lock agrees with pyproject.toml and with what .venv runs."""

import tomllib
from importlib import metadata

from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

RELOCK = "pyproject.toml and requirements.lock disagree: run scripts/lock"


def declared() -> list[Requirement]:
    """The runtime and dev dependencies from pyproject.toml."""
    project = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(line) for line in lines]


def locked() -> dict[str, Requirement]:
    """The lock's pins by name (`name==version ; marker`, hashes on the lines below)."""
    pins = {}
    for line in (settings.BASE_DIR / "requirements.lock").read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            pin = Requirement(line.rstrip(" \\"))
            pins[canonicalize_name(pin.name)] = pin
    return pins


def version(pin: Requirement) -> str:
    (exact,) = pin.specifier
    return exact.version


def applies_here(requirement: Requirement, extras=()) -> bool:
    """The lock covers every platform; these tests check this one (Linux, Python 3.11)."""
    marker = requirement.marker
    return marker is None or any(marker.evaluate({"extra": e}) for e in ("", *extras))


def installed_version(name: str) -> str | None:
    try:
        return str(Version(metadata.version(name)))
    except metadata.PackageNotFoundError:
        return None


def test_every_dependency_in_pyproject_is_locked_within_its_bounds():
    pins = locked()
    problems = []
    for requirement in declared():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not in the lock")
        elif not requirement.specifier.contains(version(pin), prereleases=True):
            problems.append(f"{requirement} but the lock pins {version(pin)}")
    assert problems == [], RELOCK


def test_the_lock_holds_what_the_dependencies_need_and_nothing_else():
    """Follow every requirement (extras included) through the installed packages' metadata."""
    pins = locked()
    problems = []
    reached: dict[str, set[str]] = {}
    todo = [r for r in declared() if applies_here(r)]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{requirement} (needed) is not in the lock")
            continue
        if not requirement.specifier.contains(version(pin), prereleases=True):
            problems.append(f"{requirement} (needed) but the lock pins {version(pin)}")
        extras = set(requirement.extras)
        if name in reached and extras <= reached[name]:
            continue
        reached[name] = reached.get(name, set()) | extras
        if installed_version(name) is None:
            continue  # reported by the test below
        for line in metadata.requires(name) or []:
            needed = Requirement(line)
            if applies_here(needed, extras):
                todo.append(needed)
    unused = {name for name, pin in pins.items() if applies_here(pin)} - set(reached)
    problems += [f"{name} is locked but nothing needs it" for name in sorted(unused)]
    assert problems == [], RELOCK


def test_the_environment_runs_the_locked_versions():
    pins = {name: pin for name, pin in locked().items() if applies_here(pin)}
    expected = {name: str(Version(version(pin))) for name, pin in pins.items()}
    installed = {name: installed_version(name) for name in pins}
    assert installed == expected, "run scripts/bootstrap to install requirements.lock"
