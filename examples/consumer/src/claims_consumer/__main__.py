"""``python -m claims_consumer``: consume the log and log the projection after each batch;
``python -m claims_consumer FILE.ndjson``: the projection of a sample stream, printed once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from claims_consumer.consumer import Settings, consume
from claims_consumer.decode import from_lines
from claims_consumer.projection import Projection


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    projection = Projection()
    if len(sys.argv) > 1:
        for path in sys.argv[1:]:
            with Path(path).open() as lines:
                for event in from_lines(lines):
                    projection.apply(event)
        print(projection.summary())
        return
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it; offsets are committed
        asyncio.run(consume(Settings.from_env(), projection))


if __name__ == "__main__":
    main()
