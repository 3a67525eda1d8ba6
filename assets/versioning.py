"""Code versions for assets: a hash of the source they run, so Dagster shows a
materialization as stale when that code changed."""

from __future__ import annotations

import hashlib

from settings import PROJECT_ROOT

_SOURCE_SUFFIXES = (".py", ".yml", ".yaml", ".sql")


def source_hash(*paths: str) -> str:
    """Hash of the given files, and of every source file below the given folders."""
    digest = hashlib.sha256()
    for rel in paths:
        path = PROJECT_ROOT / rel
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in _SOURCE_SUFFIXES)
        else:
            files = [path]
        for file in files:
            digest.update(file.relative_to(PROJECT_ROOT).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
