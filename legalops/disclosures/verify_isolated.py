"""Run the verifier (:func:`.verify.package_verify`, unchanged) in its own process:
``python -m legalops.disclosures.verify_isolated``.

The verifier reads the whole embedded CSV back, so its memory grows with the row
count; in its own short-lived process that memory is returned when it exits and the
package job's process stays flat, however many rows a package has. It needs the
project's settings (the scope's module imports models) but no database.
"""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # imported at run time only once Django is set up
    from legalops.cases.scope import Scope
    from legalops.disclosures.verify import Verification

MODULE = "legalops.disclosures.verify_isolated"


def package_verify_isolated(*, pdf: Path, scope: "Scope", expected_count: int) -> "Verification":
    """:func:`.verify.package_verify` in a child process, with the same result; a
    verifier that does not finish is a failed verification."""
    from legalops.disclosures.verify import Verification

    job = {"pdf": str(pdf), "scope": scope.as_json(), "expected_count": expected_count}
    env = {**os.environ}
    env.setdefault("DJANGO_SETTINGS_MODULE", "legalops.settings")
    env["LEGALOPS_RENDER_PARENT"] = str(os.getpid())  # it dies with this process
    try:
        done = subprocess.run(  # noqa: S603 (our interpreter, a fixed module, no shell)
            [sys.executable, "-m", MODULE],
            input=json.dumps(job).encode(),
            capture_output=True,
            env=env,
            check=False,
            # Never longer than the package job itself may run.
            timeout=settings.LEGALOPS_PACKAGE_TIME_LIMIT,
        )
    except subprocess.TimeoutExpired:
        return Verification(False, 0, "", "the verifier did not finish in time")
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        # Not verified is not ready: the caller fails the package with this reason.
        return Verification(False, 0, "", f"the verifier did not finish: {reason}")
    try:
        # The result is the last line: anything printed while Django starts is not it.
        last = done.stdout.decode("utf-8", "replace").strip().splitlines()[-1]
        return Verification(**json.loads(last))
    except (IndexError, ValueError, TypeError):
        return Verification(False, 0, "", "the verifier's answer could not be read")


def main() -> int:
    import django

    from legalops.disclosures.render_part import _die_with_parent

    _die_with_parent()
    django.setup()
    from legalops.cases.scope import Scope
    from legalops.disclosures.verify import package_verify

    job = json.loads(sys.stdin.read())
    result = package_verify(
        pdf=Path(job["pdf"]),
        scope=Scope.from_json(job["scope"]),
        expected_count=int(job["expected_count"]),
    )
    print(json.dumps(dataclasses.asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
