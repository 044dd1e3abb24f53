"""Generates a linearizable register history for benchmarking `replikv check`.

Clients run one operation at a time against registers driven by a real sequential order: each
operation takes effect at a random instant inside its [invoke, complete] interval, reads return
the value at that instant, writes carry unique values, a share of CASes succeed or fail as the
state says, and a share of operations end `info` (their effect kept or dropped at random).

Usage: bench/gen_history.py [--ops 20000] [--clients 16] [--keys 16] [--info 0.02] [--seed 1]
"""
import argparse
import heapq
import json
import random
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--keys", type=int, default=16)
    parser.add_argument("--info", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    state = {}
    events = []  # (time, order, event)
    order = 0
    next_value = 1
    process_of = list(range(options.clients))
    next_process = options.clients
    client_free_at = [0] * options.clients
    last_effect = 0
    for _ in range(options.ops):
        client = min(range(options.clients), key=lambda c: client_free_at[c])
        invoke = client_free_at[client] + rng.randint(1, 50)
        # Effects happen in generation order, so each one follows the previous in real time.
        effect = max(invoke + rng.randint(1, 200), last_effect + 1)
        last_effect = effect
        complete = effect + rng.randint(1, 200)
        key = f"k{rng.randrange(options.keys)}"
        f = rng.choices(["read", "write", "cas"], weights=[5, 4, 1])[0]
        current = state.get(key)
        process = process_of[client]
        unknown = f != "read" and rng.random() < options.info
        applied = not unknown or rng.random() < 0.5
        if f == "read":
            value, outcome = None, "ok"
            result = current
        elif f == "write":
            value = next_value
            next_value += 1
            outcome = "info" if unknown else "ok"
            if applied:
                state[key] = value
            result = value
        else:
            expected = current if rng.random() < 0.6 else -1
            new = next_value
            next_value += 1
            value = [expected, new]
            matches = expected == current
            outcome = "info" if unknown else ("ok" if matches else "fail")
            if matches and applied:
                state[key] = new
            result = value
        events.append((invoke, order, {"process": process, "type": "invoke", "f": f, "key": key,
                                       "value": value if f != "read" else None}))
        order += 1
        events.append((complete, order, {"process": process, "type": outcome, "f": f, "key": key,
                                         "value": result}))
        order += 1
        client_free_at[client] = complete
        if outcome == "info":
            process_of[client] = next_process  # a client whose outcome is unknown continues anew
            next_process += 1
    events.sort(key=lambda e: (e[0], e[1]))
    out = sys.stdout
    for time, _, event in events:
        event["time"] = time * 1000
        out.write(json.dumps(event) + "\n")


if __name__ == "__main__":
    main()
