"""Installed size of the runtime dependency set (what the Docker image installs) vs the full set.

There is no Docker engine here, so this is not a ``docker images`` figure: it is the size of
the site-packages each set makes, which is what the split changes (the slim base image and
the repository's own files are the same either way).  Two ways to measure:

- ``--install``: ``pip install --no-deps --target <tmp>`` of requirements/runtime.lock, then of
  all three locks (what the image installed before the split, ``requirements.txt``), and the
  bytes on disk of each tree (``du``-like: block-rounded file sizes); about a minute and a
  download of every wheel the machine does not have;
- default: the same sets summed from this venv's installed files (each distribution's
  RECORD: what pip installed for it, bytecode included); instant.  Both gave 519.0 MB vs
  980.2 MB when measured together (2026-12-06, before psycopg joined the runtime set).

    python bench/image_size.py [--install]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import lock  # noqa: E402  (scripts/lock.py)

MB = 1024 * 1024


def disk_bytes(tree: Path) -> int:
    """Return the bytes ``tree``'s files take on disk (allocated blocks, as ``du`` counts)."""
    return sum(p.lstat().st_blocks * 512 for p in tree.rglob("*") if p.is_file())


def installed_bytes(locks: list[str]) -> int:
    """pip-install the pins of ``locks`` (no resolution: the locks are closed) into a temp
    target; return its size on disk."""
    with tempfile.TemporaryDirectory(prefix="image-size-") as tmp:
        args = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                "--disable-pip-version-check", "--target", tmp]
        for name in locks:
            args += ["-r", str(ROOT / "requirements" / f"{name}.lock")]
        subprocess.run(args, check=True)
        return disk_bytes(Path(tmp))


def dist_bytes(dist_name: str) -> int:
    """Return the on-disk size of one installed distribution's files (its RECORD)."""
    dist = distribution(dist_name)
    paths = (Path(dist.locate_file(f)) for f in dist.files or [])
    return sum(p.stat().st_blocks * 512 for p in paths if p.is_file())


def venv_bytes(locks: list[str]) -> int:
    """Return the summed size of the installed files of every distribution in ``locks``."""
    return sum(dist_bytes(d) for name in locks
               for d in lock.read_lock(ROOT / "requirements" / f"{name}.lock"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", action="store_true",
                        help="pip-install each set into a temp directory and measure that")
    args = parser.parse_args()
    measure = installed_bytes if args.install else venv_bytes
    runtime = measure(["runtime"])
    full = measure(list(lock.SETS))
    counts = {s: len(lock.read_lock(ROOT / "requirements" / f"{s}.lock")) for s in lock.SETS}
    how = "pip install --target, on disk" if args.install else "this venv's installed files"
    print(f"site-packages size ({how}; not a `docker images` figure):")
    print(f"  runtime set (the image now): {runtime / MB:8.1f} MB  "
          f"({counts['runtime']} packages)")
    print(f"  full set (the image before): {full / MB:8.1f} MB  "
          f"({sum(counts.values())} packages)")
    print(f"  ratio runtime/full: {runtime / full:.2f}  (saved {(full - runtime) / MB:.1f} MB)")
    for name in lock.SETS:  # where the bytes are (this venv's files)
        sizes = sorted(((dist_bytes(d), d) for d in
                        lock.read_lock(ROOT / "requirements" / f"{name}.lock")), reverse=True)
        print(f"  largest in {name}: " + ", ".join(f"{d} {b / MB:.0f} MB" for b, d in sizes[:5]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
