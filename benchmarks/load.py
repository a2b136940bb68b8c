"""Load generator for scripts/benchmark: browser-like clients against the loopback server.

submit: each client process is one browser with its own cookie jar. It opens /refer/,
fills in the form the way a person does and posts what a browser posts: every control
of the form in document order, every hidden input exactly as served (duplicates
included: two csrfmiddlewaretoken inputs are both sent, and Django reads the last one).
It then follows the redirect to the confirmation page and reads the reference there.
A submission counts as done only when the POST redirected to a confirmation page that
shows a new reference and, once the run is over, that referral's row is in the
database. Everything else is a failure, reported by kind (step, status, short reason)
on stderr and in the JSON figures; the exit status is 1 when there was any failure.

--flow floor runs the same browser against benchmarks/floor.py (the floor: a form, a
POST that writes one row, a confirmation), and a submission counts there when its row
is in the floor's table.

get: each client GETs one page repeatedly with a logged-in session cookie.

Only ever targets 127.0.0.1 (the server scripts/benchmark starts); every loop is bounded
by --seconds, every request by --timeout.
"""

import argparse
import collections
import http.client
import http.cookiejar
import json
import multiprocessing
import os
import queue
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

HOST = "127.0.0.1"
REFERENCE_RE = re.compile(r"RST-[0-9A-HJKMNP-TV-Z]{8}")


class Flow:
    """Where a submission starts and ends, what a person types, where its row lands."""

    def __init__(self, name, form_path, confirmation, answers, table):
        self.name, self.form_path, self.answers, self.table = name, form_path, answers, table
        self.confirmation_re = re.compile(confirmation)


TEXT_TYPES = {
    "text",
    "email",
    "tel",
    "number",
    "date",
    "search",
    "url",
    "password",
    "datetime-local",
    "month",
    "week",
    "time",
    "color",
    "range",
}
BUTTON_TYPES = {"submit", "image", "button", "reset"}


# --- The form, as a browser sees it -------------------------------------------------


class FormMismatch(Exception):
    """The served form does not have what the client means to fill in."""


class Form:
    def __init__(self, attrs):
        self.method = (attrs.get("method") or "get").lower()
        self.action = attrs.get("action") or ""
        self.controls = []  # document order

    def options(self, name):
        """The values a person can choose for a radio/checkbox group or a select."""
        values = []
        for control in self.controls:
            if control["name"] != name:
                continue
            if control["kind"] == "select":
                values += [
                    value for value, _selected, disabled in control["options"] if not disabled
                ]
            elif control["kind"] in ("radio", "checkbox"):
                values.append(control["value"])
        return values

    def entries(self, answers):
        """The (name, value) pairs a browser posts after a person typed `answers`.

        Follows the HTML "construct the entry list" rules: document order; disabled and
        unnamed controls skipped; radios and checkboxes only when checked (a checkbox
        without a value sends "on"); a select sends its selected option (the first one
        when none is marked); the first submit button is the one clicked. Hidden inputs
        are never touched: they go back exactly as served, duplicates and all.
        """
        used, entries, clicked = set(), [], False
        for control in self.controls:
            name, kind = control["name"], control["kind"]
            if kind == "submit":
                # The first submit button is the one pressed; unnamed, it sends nothing.
                if not clicked and name and not control["disabled"]:
                    entries.append((name, control["value"]))
                clicked = True
                continue
            if control["disabled"] or not name:
                continue
            answer = answers.get(name)
            if kind == "hidden":
                entries.append((name, control["value"]))
            elif kind in ("radio", "checkbox"):
                if name in answers:
                    used.add(name)
                    chosen = answer if isinstance(answer, list | tuple) else [answer]
                    checked = answer is True or control["value"] in chosen
                else:
                    checked = control["checked"]
                if checked:
                    entries.append((name, control["value"]))
            elif kind == "select":
                options = [o for o in control["options"] if not o[2]]
                if name in answers:
                    used.add(name)
                    if answer not in [value for value, _s, _d in options]:
                        raise FormMismatch(f"no option {answer!r} in <select name={name!r}>")
                    entries.append((name, answer))
                elif options:
                    selected = [value for value, s, _d in options if s] or [options[0][0]]
                    entries.append((name, selected[0]))
            elif kind in ("text", "textarea"):
                if name in answers:
                    used.add(name)
                entries.append((name, answer if name in answers else control["value"]))
        unknown = [name for name in answers if name not in used]
        if unknown:
            raise FormMismatch(f"no field {unknown[0]!r} on the form")
        # A radio/checkbox answer must have matched one of the served choices.
        for name, answer in answers.items():
            chosen = answer if isinstance(answer, list | tuple) else [answer]
            if answer is True or not self.options(name):
                continue
            missing = [value for value in chosen if value not in self.options(name)]
            if missing:
                raise FormMismatch(f"no choice {missing[0]!r} for {name!r}")
        return entries


class FormParser(HTMLParser):
    """Collects the forms of a page and their controls, in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._form = None
        self._select = None
        self._option = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = Form(attrs)
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        base = {"name": attrs.get("name") or "", "disabled": "disabled" in attrs}
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                control = {
                    **base,
                    "kind": kind,
                    "value": attrs.get("value", "on"),
                    "checked": "checked" in attrs,
                }
            elif kind == "hidden":
                control = {**base, "kind": "hidden", "value": attrs.get("value", "")}
            elif kind in ("submit", "image"):
                control = {**base, "kind": "submit", "value": attrs.get("value", "")}
            elif kind in BUTTON_TYPES or kind == "file":
                return
            else:  # text-like (unknown types are text, as in browsers)
                control = {**base, "kind": "text", "value": attrs.get("value", "")}
            self._form.controls.append(control)
        elif tag == "button":
            if (attrs.get("type") or "submit").lower() == "submit":
                self._form.controls.append(
                    {**base, "kind": "submit", "value": attrs.get("value", "")}
                )
        elif tag == "select":
            self._select = {**base, "kind": "select", "options": []}
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value"), "selected" in attrs, "disabled" in attrs, ""]
            self._select["options"].append(self._option)
        elif tag == "textarea":
            self._textarea = {**base, "kind": "textarea", "value": ""}
            self._form.controls.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data
        elif self._option is not None:
            self._option[3] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            self._select["options"] = [
                (text.strip() if value is None else value, selected, disabled)
                for value, selected, disabled, text in self._select["options"]
            ]
            self._select = self._option = None
        elif tag == "option":
            self._option = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop one newline right after <textarea>.
            if self._textarea["value"].startswith("\n"):
                self._textarea["value"] = self._textarea["value"][1:]
            self._textarea = None


class PageSummary(HTMLParser):
    """A short reason for a failure: field errors and alerts, else title, h1, first <p>."""

    ERROR_CLASSES = ("invalid-feedback", "errorlist", "alert-danger", "error-summary")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.errors, self.headlines, self._stack, self._took_p = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = attrs.get("class") or ""
        if attrs.get("role") == "alert" or any(c in classes for c in self.ERROR_CLASSES):
            into = self.errors
        elif tag in ("title", "h1") or (tag == "p" and not self._took_p):
            self._took_p = self._took_p or tag == "p"
            into = self.headlines
        else:
            into = None
        self._stack.append([tag, into, ""])

    def handle_endtag(self, tag):
        if tag not in (open_tag for open_tag, _into, _text in self._stack):
            return
        while self._stack:
            open_tag, into, text = self._stack.pop()
            text = " ".join(text.split())
            if into is not None and text:
                into.append(text)
            elif self._stack:  # an unwanted element's text belongs to its parent's
                self._stack[-1][2] += " " + text
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][2] += data


def short_reason(body, limit=160):
    summary = PageSummary()
    try:
        summary.feed(body.decode("utf-8", "replace"))
    except Exception as error:  # noqa: BLE001 - a reason must never crash the client
        return f"(unreadable page: {type(error).__name__})"
    parts = list(dict.fromkeys(summary.errors or summary.headlines))
    text = "; ".join(parts) or " ".join(body[:80].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- One browser ----------------------------------------------------------------------


class Browser:
    """A cookie jar and a keep-alive connection to the loopback server."""

    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.origin = f"http://{HOST}:{port}"
        # Browsers treat loopback as a secure context and keep Secure cookies for it;
        # http.cookiejar would otherwise drop the production CSRF and session cookies.
        policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        self.jar = http.cookiejar.CookieJar(policy)
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def request(self, method, path, *, body=None, headers=None):
        url = urllib.parse.urljoin(self.origin + "/", path)
        target = urllib.parse.urlsplit(url)
        if target.hostname != HOST or target.port != self.port:
            raise FormMismatch(f"refusing to leave the loopback server: {url}")
        request = urllib.request.Request(url, method=method)  # noqa: S310 - loopback, checked
        self.jar.add_cookie_header(request)
        all_headers = {
            "User-Agent": "rst-benchmark (browser-like)",
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            **(headers or {}),
        }
        if request.get_header("Cookie"):
            all_headers["Cookie"] = request.get_header("Cookie")
        path_qs = target.path + (f"?{target.query}" if target.query else "")
        try:
            self.connection.request(method, path_qs, body=body, headers=all_headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # the next request opens a new one
            raise
        self.jar.extract_cookies(response, request)
        return response, data

    def close(self):
        self.connection.close()


def _initials(seed: int) -> str:
    letters = "ABCDEFGHJKLMNPRSTW"
    return letters[seed % 18] + letters[(seed // 18) % 18] + letters[(seed // 324) % 18]


def answers_for(form, client, n, jurisdictions, run_id):
    """What a person types: different answers each time, so no two are duplicates."""
    services = form.options("services")
    if not services:
        raise FormMismatch("no services to choose on the form")
    return {
        "referrer_name": f"Bench Worker {client}",
        "referrer_role": "child_welfare",
        "agency": f"Benchmark run {run_id}",
        "referrer_email": f"bench-{run_id}-{client}-{n}@example.org",
        "referrer_phone": "612-555-0100",
        "jurisdiction": jurisdictions[(client + n) % len(jurisdictions)],
        # Initials vary as real ones do, so the duplicate check finds what it would in
        # production (a few matches), not a match on every submission.
        "child_initials": _initials(client * 100_003 + n),
        "child_age": str(10 + n % 8),
        "child_status": "missing",
        "status_date": (date.today() - timedelta(days=3)).isoformat(),
        "law_enforcement_involved": "unknown",
        "services": [services[n % len(services)]],
        "urgency": "routine",
        "summary": f"Benchmark submission {client}-{n}: missing from placement; needs a plan.",
        "consent": True,
    }


def floor_answers_for(form, client, n, jurisdictions, run_id):
    return {"name": f"Benchmark run {run_id} {client}-{n}"}


FLOWS = {
    "referral": Flow(
        "referral",
        "/refer/",
        r"^/refer/submitted/(RST-[0-9A-HJKMNP-TV-Z]{8})/$",
        answers_for,
        "referrals_referral",
    ),
    "floor": Flow(
        "floor",
        "/floor/",
        r"^/floor/done/(RST-[0-9A-HJKMNP-TV-Z]{8})/$",
        floor_answers_for,
        "benchmark_floor",
    ),
}


def submit_once(browser, flow, client, n, jurisdictions, run_id, seen):
    """One submission. Returns (reference, step timings) or raises Failed."""
    timings = {}
    action = flow.form_path
    started = time.perf_counter()
    response, body = browser.request("GET", action)
    timings["form"] = time.perf_counter() - started
    if response.status != 200:
        raise Failed(f"GET {action} {response.status} {short_reason(body)}")
    parser = FormParser()
    parser.feed(body.decode("utf-8"))
    page = f"{browser.origin}{action}"
    forms = [
        f
        for f in parser.forms
        if f.method == "post" and urllib.parse.urljoin(page, f.action) == page
    ]
    if not forms:
        raise Failed(f"GET {action} 200 but no form posting to {action} on the page")
    form = forms[0]
    try:
        entries = form.entries(flow.answers(form, client, n, jurisdictions, run_id))
    except FormMismatch as error:
        raise Failed(f"form: {error}") from None

    step = time.perf_counter()
    response, body = browser.request(
        "POST",
        action,
        body=urllib.parse.urlencode(entries),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": browser.origin,
            "Referer": page,
        },
    )
    timings["post"] = time.perf_counter() - step
    if response.status != 302:
        shown = "form shown again: " if response.status == 200 else ""
        raise Failed(f"POST {action} {response.status} {shown}{short_reason(body)}")
    location = urllib.parse.urlsplit(response.getheader("Location") or "").path
    match = flow.confirmation_re.match(location)
    if not match:
        raise Failed(f"POST {action} 302 to {location or '(no Location)'}, not a confirmation")
    reference = match.group(1)
    if reference in seen:
        raise Failed("POST 302 to an earlier referral's confirmation (answers were new)")

    step = time.perf_counter()
    response, body = browser.request("GET", location, headers={"Referer": page})
    timings["confirmation"] = time.perf_counter() - step
    if response.status != 200:
        raise Failed(f"GET confirmation {response.status} {short_reason(body)}")
    if reference not in REFERENCE_RE.findall(body.decode("utf-8", "replace")):
        raise Failed("GET confirmation 200 without its reference on the page")
    timings["total"] = time.perf_counter() - started
    return reference, timings


class Failed(Exception):
    pass


def submit_loop(
    client, port, seconds, timeout, flow, jurisdictions, run_id, new_session_each, results
):
    """One browser: open the form, send it, read the confirmation; until time is up."""
    references, timings, failures = [], collections.defaultdict(list), collections.Counter()
    browser = Browser(port, timeout)
    deadline = time.monotonic() + seconds
    n = 0
    seen = set()
    try:
        while time.monotonic() < deadline:
            if new_session_each and n:
                browser.close()
                browser = Browser(port, timeout)
            n += 1
            try:
                reference, steps = submit_once(
                    browser, FLOWS[flow], client, n, jurisdictions, run_id, seen
                )
            except Failed as failure:
                failures[str(failure)] += 1
                continue
            except (OSError, http.client.HTTPException) as error:
                failures[f"connection: {type(error).__name__}: {error}"[:160]] += 1
                time.sleep(0.05)  # a refused connection fails at once; do not spin
                continue
            seen.add(reference)
            references.append(reference)
            for step, value in steps.items():
                timings[step].append(value)
    except Exception as error:  # noqa: BLE001 - reported, never hidden
        failures[f"client crashed: {type(error).__name__}: {error}"[:160]] += 1
    finally:
        browser.close()
    results.put({"references": references, "timings": dict(timings), "failures": failures})


def get_loop(client, port, seconds, timeout, path, cookie, results):
    """One client: GET `path` repeatedly with a logged-in session cookie."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    timings, failures = collections.defaultdict(list), collections.Counter()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failures[f"connection: {type(error).__name__}: {error}"[:160]] += 1
                time.sleep(0.05)
                continue
            if response.status == 200:
                timings["total"].append(time.perf_counter() - started)
            else:
                failures[f"GET {path} {response.status} {short_reason(body)}"] += 1
    except Exception as error:  # noqa: BLE001 - reported, never hidden
        failures[f"client crashed: {type(error).__name__}: {error}"[:160]] += 1
    finally:
        connection.close()
    results.put({"references": [], "timings": dict(timings), "failures": failures})


# --- The run ----------------------------------------------------------------------------


def run(target, args, clients, seconds, timeout):
    """Start the clients, collect what each reports; a client that never reports counts."""
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=target, args=(client, *args, results))
        for client in range(clients)
    ]
    for worker in workers:
        worker.start()
    # One iteration may start just before the deadline and take three requests.
    wait_until = time.monotonic() + seconds + 3 * timeout + 30
    collected = []
    for _ in workers:
        try:
            collected.append(results.get(timeout=max(1.0, wait_until - time.monotonic())))
        except queue.Empty:
            break
    for worker in workers:
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
    merged = {"references": [], "timings": collections.defaultdict(list)}
    failures = collections.Counter()
    for result in collected:
        merged["references"] += result["references"]
        for step, values in result["timings"].items():
            merged["timings"][step] += values
        failures.update(result["failures"])
    if len(collected) < clients:
        failures["client process never reported (crashed or hung)"] += clients - len(collected)
    merged["failures"] = failures
    return merged


def verify_in_database(flow, references, run_id):
    """Which counted references have a row, and how many rows this run left in all."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")
    import django

    django.setup()
    from django.db import connection

    table = FLOWS[flow].table
    mine = "agency = %s" if flow == "referral" else "name LIKE %s"
    marker = f"Benchmark run {run_id}" + ("" if flow == "referral" else " %")
    found = set()
    with connection.cursor() as cursor:
        for start in range(0, len(references), 500):
            chunk = references[start : start + 500]
            cursor.execute(
                f"SELECT reference FROM {table} WHERE reference = ANY(%s)",  # noqa: S608
                [chunk],
            )
            found.update(reference for (reference,) in cursor.fetchall())
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {mine}", [marker])  # noqa: S608
        rows = cursor.fetchone()[0]
    return found, rows


def quantile_ms(values, q):
    if len(values) < 2:
        return round(values[0] * 1000, 1) if values else None
    return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1)


def summarise(merged, seconds, clients):
    latencies = sorted(merged["timings"].get("total", []))
    failures = merged["failures"]
    figures = {
        "clients": clients,
        "seconds": seconds,
        "completed": len(latencies),
        "failures": sum(failures.values()),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": quantile_ms(latencies, 50),
        "p95_ms": quantile_ms(latencies, 95),
        "p99_ms": quantile_ms(latencies, 99),
    }
    steps = {step: v for step, v in merged["timings"].items() if step != "total"}
    if steps:
        figures["steps_ms"] = {
            step: {"p50": quantile_ms(v, 50), "p95": quantile_ms(v, 95)}
            for step, v in steps.items()
        }
    figures["failure_kinds"] = dict(failures.most_common())
    return figures


def report_failures(label, failures):
    total = sum(failures.values())
    if not total:
        print(f"{label}: no failures.", file=sys.stderr)
        return
    print(f"{label}: {total} FAILED, by kind:", file=sys.stderr)
    for kind, count in failures.most_common():
        print(f"  {count:>7}  {kind}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["submit", "get"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--timeout", type=float, default=30, help="per request, in seconds")
    parser.add_argument("--path", default="/queue/")
    parser.add_argument(
        "--flow", choices=sorted(FLOWS), default="referral", help="submit: what to submit"
    )
    parser.add_argument("--cookie", default="")
    parser.add_argument("--jurisdictions", default="MN,TX,CA,NY,FL,GU")
    parser.add_argument(
        "--new-session-each",
        action="store_true",
        help="a fresh cookie jar for every submission (a new browser each time)",
    )
    parser.add_argument("--out", help="also write the figures (JSON) to this file")
    args = parser.parse_args()

    if args.mode == "submit":
        run_id = uuid.uuid4().hex[:12]
        merged = run(
            submit_loop,
            (
                args.port,
                args.seconds,
                args.timeout,
                args.flow,
                args.jurisdictions.split(","),
                run_id,
                args.new_session_each,
            ),
            args.clients,
            args.seconds,
            args.timeout,
        )
        # Done means the row exists: check every reference the clients counted.
        references = merged["references"]
        found, rows = verify_in_database(args.flow, references, run_id)
        missing = [r for r in references if r not in found]
        if missing:
            merged["failures"]["confirmed, but no referral row in the database"] += len(missing)
            keep = [r not in set(missing) for r in references]
            merged["timings"] = {
                step: [v for v, k in zip(values, keep, strict=True) if k]
                for step, values in merged["timings"].items()
            }
        figures = summarise(merged, args.seconds, args.clients)
        figures["referral_rows_this_run"] = rows
        # Rows whose browser was shown an error: saved, but the referrer does not know.
        figures["saved_but_browser_saw_a_failure"] = max(0, rows - figures["completed"])
        label = f"submit ({args.flow})"
    else:
        merged = run(
            get_loop,
            (args.port, args.seconds, args.timeout, args.path, args.cookie),
            args.clients,
            args.seconds,
            args.timeout,
        )
        figures = summarise(merged, args.seconds, args.clients)
        label = f"GET {args.path}"

    report_failures(label, merged["failures"])
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))
    sys.exit(1 if figures["failures"] else 0)


if __name__ == "__main__":
    main()
