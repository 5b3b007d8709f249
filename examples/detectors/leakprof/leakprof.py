#!/usr/bin/env python3
"""A LeakProf-style goroutine leak detector for leakbench, in Python 3 (standard library only).

Uber's LeakProf ("LeakProf: Featherlight In-Production Goroutine Leak Detection", 2022, and
arXiv:2312.12002) reads goroutine profiles of running services, keeps the goroutines blocked
on a channel operation (send, receive, select), groups them by where they block, and reports a
location whose count passes a threshold: a healthy program rarely parks that many goroutines on
one channel operation, a leaking one parks more with every leaked unit.

This detector does that on each sample leakbench sends it: the sample's goroutine profile
(`goroutines`: stack groups with `count`, `wait` and `site`, the first non-runtime function)
is summed per (site, wait) over the blocked-on-a-channel groups, and the largest location
alarms once its count passes --threshold. It speaks leakbench's detector protocol, version 1
(docs/detector-protocol.md): a hello line, then one sample per line on stdin, one answer per
line on stdout.

It sees only the goroutine profile: it cannot see a map, a finalizer or C memory grow, and a
burst of idle workers parked on one channel above the threshold is, to it, a leak.

Try it by hand on a recorded trace (the hello line first, then the samples):
  (echo '{"hello":{"protocol":"leakbench-detector","version":1}}'; cat trace.jsonl) \\
    | python3 leakprof.py --threshold 50
"""

import argparse
import json
import sys

PROTOCOL_VERSION = 1

# The wait reasons of a goroutine blocked on a channel operation, as leakbench derives them
# from the runtime frames on top of the stack.
BLOCKED_ON_CHANNEL = ("chan send", "chan receive", "select")

# Goroutines blocked at one location before it is a leak. LeakProf runs in production with
# thresholds in the thousands; leakbench's fixtures leak a bounded number (20 a second for
# some 10 s), so this default is 100: above a pool that stays parked for good (the 40
# connections of the slow-plateau hard negative), low enough to fire within the leaks'
# tolerance. A load spike that parks more idle workers at one place than that (the pool-burst
# hard negative) is a false alarm, as it would be for any count threshold.
DEFAULT_THRESHOLD = 100


def blocked_locations(groups):
    """Goroutines blocked on a channel operation, summed per (site, wait)."""
    counts = {}
    for g in groups:
        if g.get("wait") in BLOCKED_ON_CHANNEL:
            key = (g.get("site", ""), g["wait"])
            counts[key] = counts.get(key, 0) + int(g.get("count", 0))
    return counts


def judge(sample, threshold):
    """The answer to one sample: {} or {"alarm": {...}} at the sample's own time."""
    groups = sample.get("goroutines")
    if groups is None:  # the goroutine probe missed this tick: nothing to say
        return {}
    counts = blocked_locations(groups)
    if not counts:
        return {}
    # The largest location; ties broken by name, so the answer never depends on dict order.
    (site, wait), count = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    if count <= threshold:
        return {}
    # A watcher goroutine of the context package piling up means contexts pile up.
    return {
        "alarm": {
            "t_s": sample["t"],
            "site": site,
            "grew": "goroutines",
            "confidence": max(0.0, min(1.0, 1.0 - threshold / count)),
            "detail": f"{count} goroutines blocked on {wait} at {site} > {threshold}",
        }
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD,
                    help="goroutines blocked at one location before it alarms (default %(default)s)")
    args = ap.parse_args()

    hello = json.loads(sys.stdin.readline() or "{}").get("hello", {})
    if hello.get("version") != PROTOCOL_VERSION:
        print(f"leakprof speaks detector protocol {PROTOCOL_VERSION}, got {hello.get('version')}",
              file=sys.stderr)
        return 2
    for line in sys.stdin:
        answer = judge(json.loads(line), args.threshold)
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
