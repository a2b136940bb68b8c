"""A name for the code that is running, for cache keys that must change with each deploy."""

import hashlib
from pathlib import Path

SOURCE_SUFFIXES = {".py", ".html", ".txt", ".css", ".js", ".json"}
SKIPPED = {".venv", ".git", "node_modules", "staticfiles", "benchmark-results", "__pycache__"}


def source_digest(base_dir: Path) -> str:
    """A short digest of the project's code, templates and fixtures (not its dependencies)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(_source_files(base_dir)):
        digest.update(str(path.relative_to(base_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _source_files(directory: Path):
    for entry in directory.iterdir():
        if entry.name in SKIPPED or entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _source_files(entry)
        elif entry.suffix in SOURCE_SUFFIXES:
            yield entry
