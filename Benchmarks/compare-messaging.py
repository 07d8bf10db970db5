#!/usr/bin/env python3
"""Runs Agora's messaging benchmark and the raw-libzmq baseline side by side.

Each round runs every case once for each implementation, alternating, so both see the
same machine noise. Prints the median of each figure over the rounds and Agora's ratio
to raw libzmq as a Markdown table.
"""
import argparse
import json
import statistics
import subprocess

CASES = [
    ("throughput", 100, 1_000_000),
    ("throughput", 10_240, 100_000),
    ("latency", 100, 10_000),
    ("latency", 10_240, 10_000),
]


def run(program, mode, size, count):
    out = subprocess.run([program, mode, str(size), str(count)], check=True,
                         capture_output=True, text=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agora", required=True)
    parser.add_argument("--raw", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="tiny counts, to check that it runs")
    args = parser.parse_args()

    results = {}
    for _ in range(args.rounds):
        for mode, size, count in CASES:
            if args.small:
                count = 1_000
            for name, program in (("agora", args.agora), ("libzmq", args.raw)):
                results.setdefault((mode, size, name), []).append(run(program, mode, size, count))

    print("| case | Agora | raw libzmq | Agora / libzmq |")
    print("|---|---|---|---|")
    for mode, size, _ in CASES:
        agora, raw = results[(mode, size, "agora")], results[(mode, size, "libzmq")]
        label = f"{mode}, {size} B"
        if mode == "throughput":
            a = statistics.median(r["msgs_per_sec"] for r in agora)
            b = statistics.median(r["msgs_per_sec"] for r in raw)
            print(f"| {label} (msgs/s) | {a:,.0f} | {b:,.0f} | {a / b:.0%} |")
        else:
            for key in ("p50_us", "p99_us"):
                a = statistics.median(r[key] for r in agora)
                b = statistics.median(r[key] for r in raw)
                print(f"| {label} {key[:3]} round trip (µs) | {a:.1f} | {b:.1f} | {a / b:.2f}× |")
    print(f"\nmedians over {args.rounds} round(s), each case alternating Agora and libzmq")


if __name__ == "__main__":
    main()
