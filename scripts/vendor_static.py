"""Copy the staff UI's front-end assets from npm packages into the static files.

The product runs where the internet does not, so USWDS and htmx are served from our
own static files. The copies are committed (the Docker image and a fresh clone need
no Node.js); this script refreshes them when package-lock.json pins other versions:

    python scripts/vendor_static.py          # copy if the pinned versions changed
    python scripts/vendor_static.py --force  # fetch and copy again regardless

Only what the compiled CSS references is copied (its url(...) fonts and images), so
the vendored tree stays about 1 MB instead of USWDS's 20 MB distribution.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "package-lock.json"
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "legalops" / "web" / "static" / "vendor"
VERSIONS = VENDOR / "VERSIONS.json"
PACKAGES = ("@uswds/uswds", "htmx.org")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")?#]+)")


def pinned_versions() -> dict[str, str]:
    lock = json.loads(LOCK.read_text())
    return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in PACKAGES}


def npm_fetch() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is required to vendor USWDS and htmx (apt-get install npm)")
    # --ignore-scripts: nothing from the registry runs on this machine; we only copy files.
    subprocess.run(  # noqa: S603
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ROOT,
        check=True,
    )


def copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def vendor_uswds() -> None:
    dist = MODULES / "@uswds" / "uswds" / "dist"
    out = VENDOR / "uswds"
    css = dist / "css" / "uswds.min.css"
    copy(css, out / "css" / "uswds.min.css")
    for ref in sorted(set(CSS_URL.findall(css.read_text()))):
        if ref.startswith("../"):
            source = (css.parent / ref).resolve()
            copy(source, out / source.relative_to(dist))
    for name in ("uswds.min.js", "uswds-init.min.js"):
        copy(dist / "js" / name, out / "js" / name)
    copy(dist.parent / "LICENSE.md", out / "LICENSE.md")


def vendor_htmx() -> None:
    package = MODULES / "htmx.org"
    copy(package / "dist" / "htmx.min.js", VENDOR / "htmx" / "htmx.min.js")
    copy(package / "LICENSE", VENDOR / "htmx" / "LICENSE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch and copy even if current")
    args = parser.parse_args()
    wanted = pinned_versions()
    if not args.force and VERSIONS.exists() and json.loads(VERSIONS.read_text()) == wanted:
        print(f"static assets up to date: {wanted}")
        return
    npm_fetch()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    vendor_uswds()
    vendor_htmx()
    VERSIONS.write_text(json.dumps(wanted, indent=2, sort_keys=True) + "\n")
    print(f"vendored into {VENDOR.relative_to(ROOT)}: {wanted}")


if __name__ == "__main__":
    main()
