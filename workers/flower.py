"""Start Flower, never open outside development: ``python -m workers.flower [flower options]``.

Flower shows every task's arguments and lets its users revoke tasks and shut workers down, so it
refuses to start with APP_ENV other than development or test unless it asks for a password
(FLOWER_BASIC_AUTH, ``user:password[,user2:password2]``) or for sign-in through an OAuth provider
(Flower's own FLOWER_AUTH_PROVIDER and FLOWER_AUTH settings). It listens on FLOWER_ADDRESS
(127.0.0.1 by default: put it behind a proxy rather than on a public address).
"""

from __future__ import annotations

import os
import sys

from pipeline.core.settings import ConfigError, Settings, get_settings

OPEN_ENVIRONMENTS = ("development", "test")


def flower_arguments(settings: Settings, environ: dict[str, str], extra: list[str]) -> list[str]:
    """The celery command line for Flower; raises ConfigError when it would run open."""
    oauth = bool(environ.get("FLOWER_AUTH_PROVIDER") and environ.get("FLOWER_AUTH"))
    if settings.app_env not in OPEN_ENVIRONMENTS and not (settings.flower_basic_auth or oauth):
        raise ConfigError(
            f"Flower would run without a password with APP_ENV={settings.app_env}: set FLOWER_BASIC_AUTH "
            "(user:password) or Flower's OAuth settings (FLOWER_AUTH_PROVIDER, FLOWER_AUTH, FLOWER_OAUTH2_*)"
        )
    args = ["celery", "-A", "workers", "flower", f"--address={settings.flower_address}", f"--port={settings.flower_port}"]
    if settings.flower_basic_auth:
        args.append(f"--basic-auth={settings.flower_basic_auth}")
    return args + extra


def main() -> None:  # pragma: no cover - replaces the process with celery
    try:
        args = flower_arguments(get_settings(), dict(os.environ), sys.argv[1:])
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    os.execvp(args[0], args)


if __name__ == "__main__":  # pragma: no cover
    main()
