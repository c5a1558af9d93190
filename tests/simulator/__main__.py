"""Run the provider simulator standalone, for benchmarks and manual runs.

    python -m tests.simulator --port 0 --latency 0.5

The first line on stdout is the base URL (so a script can read it); logs go to stderr. Point
OpenAI clients at ``<url>/v1``, Anthropic and boto3 at ``<url>``. Other processes change latency
and queue faults with ``POST <url>/_sim/config``. Runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from tests.simulator.server import Simulator

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every successful answer")
    parser.add_argument("--retry-after", type=float, default=1.0, help="seconds sent in retry-after on a 429")
    parser.add_argument("--timeout-hold", type=float, default=30.0, help="seconds a 'timeout' fault holds a request")
    parser.add_argument("--log-level", default="WARNING", help="logging level for stderr (default WARNING)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    simulator = Simulator(
        host=args.host,
        port=args.port,
        latency=args.latency,
        retry_after=args.retry_after,
        timeout_hold=args.timeout_hold,
    )
    with simulator:
        print(simulator.base_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
