"""Child processes of the test run die with it, even when the run itself is killed."""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when its parent dies, so a
    killed test run leaves no worker behind to consume the next run's jobs with old code."""

    def _set() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return _set
