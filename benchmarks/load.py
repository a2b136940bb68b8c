"""Load generator for the benchmark: N client processes doing GET form + POST referral.

Only ever targets the loopback server that scripts/benchmark starts. Bounded by time.
"""

import argparse
import http.client
import json
import multiprocessing
import re
import statistics
import time
import urllib.parse

CSRF_RE = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_RE = re.compile(rb'name="submission_token" value="([^"]+)"')


def update_cookies(response, jar):
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name] = rest.split(";", 1)[0]


def submit_loop(port, seconds, jurisdictions, results):
    """One client: GET /refer/, POST it, repeat; record each submission's latency."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    jar = {}
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", "/refer/", headers={"Cookie": cookie_header_str(jar)})
            response = connection.getresponse()
            body = response.read()
            update_cookies(response, jar)
            data = {
                "csrfmiddlewaretoken": CSRF_RE.search(body).group(1).decode(),
                "submission_token": TOKEN_RE.search(body).group(1).decode(),
                "referrer_name": "Bench Worker",
                "referrer_role": "child_welfare",
                "agency": "Benchmark County CPS",
                "referrer_email": "bench@example.org",
                "referrer_phone": "612-555-0100",
                "jurisdiction": jurisdictions[n % len(jurisdictions)],
                "child_initials": "AB",
                "child_age": "15",
                "child_status": "missing",
                "status_date": "2026-11-20",
                "law_enforcement_involved": "unknown",
                "services": "2",
                "urgency": "routine",
                "summary": "Benchmark submission: missing from placement; needs a plan.",
                "consent": "on",
                "leave_empty": "",
            }
            connection.request(
                "POST",
                "/refer/",
                body=urllib.parse.urlencode(data),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": cookie_header_str(jar),
                    "Referer": f"http://127.0.0.1:{port}/refer/",
                },
            )
            response = connection.getresponse()
            response.read()
            update_cookies(response, jar)
            if response.status != 302:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)
            n += 1
        except (OSError, http.client.HTTPException, AttributeError):
            failures += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    results.put((latencies, failures))


def cookie_header_str(jar):
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def get_loop(port, seconds, path, cookie, results):
    """One client: GET `path` repeatedly with a logged-in session cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            latencies.append(time.perf_counter() - started)
        else:
            failures += 1
    results.put((latencies, failures))


def run(target, args, clients, seconds):
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=target, args=(*args, results)) for _ in range(clients)
    ]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(x for lat, _ in collected for x in lat)
    failures = sum(f for _, f in collected)
    return summarise(latencies, failures, seconds)


def summarise(latencies, failures, seconds):
    if not latencies:
        return {"requests": 0, "failures": failures}
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "clients_seconds": seconds,
        "completed": len(latencies),
        "failures": failures,
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["submit", "get"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--path", default="/queue/")
    parser.add_argument("--cookie", default="")
    parser.add_argument("--jurisdictions", default="MN,TX,CA,NY,FL,GU")
    args = parser.parse_args()
    if args.mode == "submit":
        figures = run(
            submit_loop,
            (args.port, args.seconds, args.jurisdictions.split(",")),
            args.clients,
            args.seconds,
        )
    else:
        figures = run(
            get_loop, (args.port, args.seconds, args.path, args.cookie), args.clients, args.seconds
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
