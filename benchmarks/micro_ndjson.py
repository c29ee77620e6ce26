"""Split + decode alone, no I/O: the CPU cost of the NDJSON path per chunk and per MB.

Run: ``python -m benchmarks.micro_ndjson [--reps 7]``

Cases, each over the same realistic generate chunks (copied in shape from a real capture):
- ``64k``: 64 KiB reads holding ~600 lines each (the server writes big pieces);
- ``per-token``: one line per read (Ollama flushes each token as its own HTTP chunk);
- ``decode into dict``: the decoder with a generic type, for the cost of the typed Structs;
- ``json.loads``: a per-line ``bytes.split`` + ``json.loads`` baseline, for perspective.
Targets (the performance issue): ≤ 0.4 µs per full generate chunk, ≤ 0.2 µs tokens only.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable

from ollama_async import GenerateResponse
from ollama_async._ndjson import NDJSONDecoder
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


def run_decoder(kind: type, reads: list[bytes]) -> Callable[[], int]:
    def go() -> int:
        dec = NDJSONDecoder(kind)
        feed = dec.feed
        n = 0
        for r in reads:
            n += len(feed(r))
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


def section(chunks: int = 100_000, reps: int = 7) -> list[tuple[str, bool, str]]:
    """Print the table (markdown) and return the verdicts, for ``benchmarks.run``."""
    lines = make_lines(chunks)
    body = b"".join(lines)
    mb = len(body) / 1e6
    big = reads_64k(body)
    cases = [
        ("full chunk, 64k reads", run_decoder(GenerateResponse, big), 0.4),
        ("tokens only, 64k reads", run_decoder(_GenerateText, big), 0.2),
        ("full chunk, per-token reads", run_decoder(GenerateResponse, lines), None),
        ("tokens only, per-token reads", run_decoder(_GenerateText, lines), None),
        ("decode into dict, 64k reads", run_decoder(dict, big), None),
        ("json.loads per line (baseline)", run_json_loads(lines), None),
    ]
    samples: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for rep in range(reps):  # rounds, alternating in order, as in benchmarks.run
        for name, fn, _ in cases if rep % 2 == 0 else cases[::-1]:
            gc.collect()
            t0 = time.perf_counter()
            count = fn()
            samples[name].append(time.perf_counter() - t0)
            assert count == chunks, (name, count)
    print(f"\n### Split + decode alone ({chunks:,} chunks, {mb:.1f} MB, average line "
          f"{len(body) / chunks:.0f} B, median of {reps})\n")  # fmt: skip
    print("| case | µs/chunk (median) | min | ms per MB |\n|---|---:|---:|---:|")
    verdicts = []
    for name, _, target in cases:
        med = statistics.median(samples[name])
        per = med / chunks * 1e6
        print(f"| {name} | {per:.3f} | {min(samples[name]) / chunks * 1e6:.3f} | "
              f"{med / mb * 1e3:.2f} |")  # fmt: skip
        if target is not None:
            verdicts.append((f"split + decode, {name}: ≤ {target} µs per chunk", per <= target,
                             f"{per:.3f} µs"))  # fmt: skip
    return verdicts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    for what, ok, value in section(args.chunks, args.reps):
        print(f"- {'PASS' if ok else 'MISS'}: {what} (measured {value})")


if __name__ == "__main__":
    main()
