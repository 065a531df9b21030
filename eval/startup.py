"""Start-up time of `scoqa serve`: from the command's start to its page answering HTTP, and to
the first answer of a question asked through the `/ask` API (gradio_client), polling both.

    python eval/startup.py --index .scoqa/index [--question "..."] [--rounds 3]

Each round starts a fresh `scoqa serve` process on a free loopback port and stops it after the
first answer. Prints one line per round and the median. Timings depend on how busy the cores
are; say so with the figure.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

# The CLI is imported, not named in a string, so that a move of it breaks this script loudly.
from scoqa.app import cli
from scoqa.index.registry import index_exists


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_start(index: Path, question: str, timeout: float) -> tuple[float, float, str | None]:
    """(seconds to the page, seconds to the first answer, that answer's text or None). Raises
    SystemExit if the server exits or `timeout` seconds pass first."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:  # the server's stderr, shown if it fails to start
        server = subprocess.Popen([sys.executable, "-m", cli.__name__, "serve", "--index", str(index), "--port",
                                   str(port), "--no-watch"], env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            return time_to_answer(server, log, f"http://127.0.0.1:{port}/", question, started, timeout)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def time_to_answer(server: subprocess.Popen, log: IO[bytes], url: str, question: str, started: float,
                   timeout: float) -> tuple[float, float, str | None]:
    """Poll `server` at `url` until its page answers, then ask `question` until it is answered."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    page = None
    while page is None:
        if time.perf_counter() - started > timeout or server.poll() is not None:
            log.seek(0)
            said = log.read().decode(errors="replace").strip().splitlines()[-5:]
            raise SystemExit(f"scoqa serve did not serve its page (exit code {server.poll()})\n" + "\n".join(said))
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                page = time.perf_counter() - started
        except httpx.HTTPError:
            time.sleep(0.1)
    client = Client(url, verbose=False)
    while True:
        if time.perf_counter() - started > timeout:
            raise SystemExit("no answer within the timeout")
        try:
            answer = client.predict(question, api_name="/ask")
            return page, time.perf_counter() - started, answer["answer"]
        except AppError as err:
            if "still starting" not in str(err):
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path(".scoqa/index"), help="an index built beforehand")
    # The chat's first example question, which tests/test_serve.py requires the reader to answer right.
    parser.add_argument("--question", default="When was the memorandum signed?")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    if not args.index.is_dir() or not index_exists(args.index):  # else each round would time a build, not a start
        parser.error(f"no index at {args.index}; build one first: scoqa index corpus --index {args.index}")
    pages, answers = [], []
    for r in range(args.rounds):
        load = os.getloadavg()[0]
        page, first, text = one_start(args.index, args.question, args.timeout)
        pages.append(page)
        answers.append(first)
        print(f"round {r + 1}: page served after {page:.1f} s, first answer after {first:.1f} s ({text!r}); "
              f"load average before it {load:.1f} on {os.cpu_count()} cores", flush=True)
    print(f"median of {args.rounds}: page {statistics.median(pages):.1f} s, first answer {statistics.median(answers):.1f} s")


if __name__ == "__main__":
    main()
