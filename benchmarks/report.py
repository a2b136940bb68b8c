"""Gather scripts/benchmark's figures into one JSON file and print them as a table.

Every page of the large run is set against the floor (benchmarks/floor.py, measured in
the same run: a submission against the floor's submission, a page against the floor's
page) and against the same page in the small run (does its cost grow with the data?).
"""

import argparse
import json
import os
import platform
from pathlib import Path

PAGES = {
    "submit": ("submission: GET the form, POST it, GET the confirmation", "floor-submit"),
    "queue": ("a specialist's queue (/queue/)", "floor-page"),
    "detail": ("a referral page (30 notes)", "floor-page"),
    "specialists": ("/specialists.json", "floor-page"),
}
FLOORS = {
    "floor-submit": "floor: form, POST with one INSERT, confirmation",
    "floor-page": "floor: a page for a logged-in user",
}


def ratio(a, b):
    return round(a / b, 2) if a and b else None


def number(value, suffix=""):
    if value is None:
        return "–"
    return f"{value:,.1f}{suffix}" if isinstance(value, float) else f"{value:,}{suffix}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("work")
    parser.add_argument("out")
    for option in ("--queue-size", "--small-size", "--clients", "--workers", "--elapsed"):
        parser.add_argument(option, type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    work = Path(args.work)

    def figures(name):
        path = work / f"{name}.json"
        if not path.exists():
            return {"error": "benchmarks/load.py wrote no figures (see its output above)"}
        return json.loads(path.read_text())

    def seeded(name):
        path = work / f"seed-{name}.json"
        if not path.exists():
            return None
        seed = json.loads(path.read_text())
        return {key: seed[key] for key in ("referrals", "events", "seed_seconds")}

    result = {
        "setup": {
            "queue_size": args.queue_size,
            "small_size": args.small_size,
            "clients": args.clients,
            "seconds_each": args.seconds,
            "gunicorn_workers": args.workers,
            "database": "PostgreSQL",
            "cache": "Redis",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "client": "browser-like: every hidden input as served, cookie jar per client, "
            "done = confirmation shown and its row in the database",
            "seeded": {"large": seeded("large"), "small": seeded("small")},
            "elapsed_seconds": args.elapsed,
        },
        "floor": {name: figures(name) for name in FLOORS},
        "pages": {},
    }
    rows = []
    for page, (label, floor_name) in PAGES.items():
        large, small = figures(f"large-{page}"), figures(f"small-{page}")
        floor = result["floor"][floor_name]
        entry = {
            "label": label,
            "large": large,
            "small": small if args.small_size else None,
            "p95_to_floor": ratio(large.get("p95_ms"), floor.get("p95_ms")),
            "floor_per_second_to_page": ratio(floor.get("per_second"), large.get("per_second")),
            "p50_large_to_small": ratio(large.get("p50_ms"), small.get("p50_ms")),
            "p95_large_to_small": ratio(large.get("p95_ms"), small.get("p95_ms")),
        }
        result["pages"][page] = entry
        rows.append(
            [
                label,
                number(large.get("completed")),
                number(large.get("failures")),
                number(large.get("per_second")),
                number(large.get("p50_ms"), " ms"),
                number(large.get("p95_ms"), " ms"),
                number(entry["p95_to_floor"], "×"),
                number(small.get("p95_ms"), " ms"),
                number(entry["p95_large_to_small"], "×"),
            ]
        )
    for name, label in FLOORS.items():
        floor = result["floor"][name]
        rows.append(
            [
                label,
                number(floor.get("completed")),
                number(floor.get("failures")),
                number(floor.get("per_second")),
                number(floor.get("p50_ms"), " ms"),
                number(floor.get("p95_ms"), " ms"),
                "1×",
                "",
                "",
            ]
        )
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    large, small = f"{args.queue_size:,}", f"{args.small_size:,}"
    header = [
        "page",
        "done",
        "failures",
        "per second",
        "p50",
        "p95",
        "p95 ÷ floor",
        f"p95 at {small}",
        f"p95 {large} ÷ {small}",
    ]
    print(
        f"\n{large} referrals (and {small} for the last two columns), {args.clients} clients, "
        f"{args.seconds:g} s each, gunicorn {args.workers} workers, {os.cpu_count()} CPUs; "
        f"the whole run took {args.elapsed} s.\n"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    steps = result["pages"]["submit"]["large"].get("steps_ms", {})
    floor_steps = result["floor"]["floor-submit"].get("steps_ms", {})
    if steps:
        print(
            "\nSubmission p95 per step: "
            + ", ".join(
                f"{step} {values['p95']} ms (floor {floor_steps.get(step, {}).get('p95')} ms)"
                for step, values in steps.items()
            )
        )


if __name__ == "__main__":
    main()
