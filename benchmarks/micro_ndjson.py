"""Split + decode alone, no I/O: the CPU cost of the NDJSON path per chunk and per MB.

Run: ``python -m benchmarks.micro_ndjson [--reps 7]``

Cases, each over the same realistic generate chunks (copied in shape from a real capture):
- ``64k``: 64 KiB reads holding ~600 lines each (the server writes big pieces);
- ``per-token``: one line per read (Ollama flushes each token as its own HTTP chunk);
- ``split``: ``LineSplitter`` only (bytes → lines, no decoding);
- ``json.loads``: a per-line ``bytes.split`` + ``json.loads`` baseline, for perspective.
Targets (the performance issue): ≤ 0.4 µs per full generate chunk, ≤ 0.2 µs tokens only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from ollama_async import GenerateResponse, LineSplitter, NDJSONDecoder
from ollama_async._types import _GenerateText

WORDS = [" the", " sky", " is", " blue", " because", " of", " Rayleigh", " scattering", "."]


def make_lines(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        chunk = {
            "model": "llama3.2",
            "created_at": f"2026-11-22T15:27:54.{65608323 + i:09d}Z",
            "response": WORDS[i % len(WORDS)],
            "done": False,
        }
        lines.append(json.dumps(chunk, separators=(",", ":")).encode() + b"\n")
    return lines


def reads_64k(body: bytes) -> list[bytes]:
    return [body[i : i + 65536] for i in range(0, len(body), 65536)]


def timed(fn: Callable[[], int], reps: int) -> tuple[float, float, int]:
    samples = []
    count = 0
    for _ in range(reps):
        t0 = time.perf_counter()
        count = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), min(samples), count


def run_decoder(kind: type, reads: list[bytes]) -> Callable[[], int]:
    def go() -> int:
        dec = NDJSONDecoder(kind)
        feed = dec.feed
        n = 0
        for r in reads:
            n += len(feed(r))
        return n

    return go


def run_splitter(reads: list[bytes]) -> Callable[[], int]:
    def go() -> int:
        s = LineSplitter()
        n = 0
        for r in reads:
            n += len(s.feed(r))
        return n

    return go


def run_json_loads(lines: list[bytes]) -> Callable[[], int]:
    def go() -> int:
        n = 0
        for line in lines:
            json.loads(line)
            n += 1
        return n

    return go


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    lines = make_lines(args.chunks)
    body = b"".join(lines)
    mb = len(body) / 1e6
    big = reads_64k(body)
    cases = [
        ("full chunk, 64k reads", run_decoder(GenerateResponse, big), 0.4),
        ("tokens only, 64k reads", run_decoder(_GenerateText, big), 0.2),
        ("full chunk, per-token reads", run_decoder(GenerateResponse, lines), None),
        ("tokens only, per-token reads", run_decoder(_GenerateText, lines), None),
        ("split only, 64k reads", run_splitter(big), None),
        ("json.loads per line (baseline)", run_json_loads(lines), None),
    ]
    avg = len(body) / args.chunks
    print(f"{args.chunks} chunks, {mb:.1f} MB, avg line {avg:.0f} B, {args.reps} reps")
    print(f"{'case':34} {'µs/chunk med':>12} {'min':>8} {'ms/MB':>8}  verdict")
    for name, fn, target in cases:
        med, mn, count = timed(fn, args.reps)
        assert count == args.chunks, (name, count)
        per = med / count * 1e6
        verdict = "" if target is None else ("PASS" if per <= target else "MISS") + f" ≤{target}"
        print(f"{name:34} {per:12.3f} {mn / count * 1e6:8.3f} {med / mb * 1e3:8.2f}  {verdict}")


if __name__ == "__main__":
    main()
