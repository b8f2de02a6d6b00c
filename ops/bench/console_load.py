#!/usr/bin/env python3
"""The load side of ops/bench/console (run by it; not on its own).

Enrols each staff member through the console's HTML forms with the code the
officer issued (TOTP computed from the secret the page shows), signs each in
(one session, one cookie each), then runs CLIENTS threads, one per session,
each on its own TLS keep-alive connection, alternating GET / (the dashboard)
and GET /history?subscriber=ID for DURATION seconds with no pause between
requests, timing each request from sending it to having read the whole body.
Then, with the console idle: the same history page requested RUNS x 4 times
in a row by one session, and `itaku history --subscriber ID` through the CLI
RUNS times (spawn to exit, as the officer, as ops/bench/api times it). Prints
the figures; exits non-zero if any request failed or a page was not what it
should be.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import ssl
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

PASSWORD = "bench correct horse battery staple"
CTX = ssl._create_unverified_context()  # the console's certificate is self-signed


def totp(secret_b32, t):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(t // 30)), hashlib.sha1).digest()
    o = digest[-1] & 15
    return "%06d" % ((struct.unpack(">I", digest[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


class Browser:
    """One keep-alive connection with its own cookie jar, as a browser tab has."""

    def __init__(self, port):
        self.port = port
        self.jar = {}
        self.conn = None
        self.connects = 0

    def request(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        reused = self.conn is not None
        if not reused:
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=CTX, timeout=120)
            self.connects += 1
        try:
            self.conn.request(method, path, body, headers)
            res = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            # The server closes a keep-alive connection left idle (longer than
            # its header timeout); a browser then sends the request again on a
            # new one. Only on a reused connection, and only once.
            self.conn.close()
            self.conn = None
            if not reused:
                raise
            return self.request(method, path, form)
        data = res.read()
        for k, v in res.getheaders():
            if k.lower() == "set-cookie":
                name, _, value = v.split(";")[0].partition("=")
                if value:
                    self.jar[name] = value
                else:
                    self.jar.pop(name, None)
        if res.will_close:
            self.conn.close()
            self.conn = None
        return res.status, res, data.decode("utf-8", errors="replace")


def fail(msg):
    sys.exit("console bench: " + msg)


def csrf(page, where):
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    if not m:
        fail(f"{where}: no csrf field in the page")
    return m.group(1)


def enrol_and_sign_in(port, staff, code, clock_offset):
    b = Browser(port)
    s, _, p = b.request("GET", "/enrol")
    if s != 200:
        fail(f"GET /enrol: {s}")
    s, _, p = b.request("POST", "/enrol", {"csrf": csrf(p, "GET /enrol"), "name": staff, "code": code})
    m = re.search(r'id="totp-secret">([A-Z2-7]+)<', p)
    if s != 200 or not m:
        fail(f"POST /enrol ({staff}): {s}, no TOTP secret on the page:\n{p[:2000]}")
    secret = m.group(1)
    s, r, p = b.request("POST", "/enrol/finish", {
        "csrf": csrf(p, "POST /enrol"), "name": staff, "code": code, "password": PASSWORD,
        "password_again": PASSWORD, "totp": totp(secret, time.time() + clock_offset)})
    if s != 303 or r.getheader("Location") != "/signin?enrolled=1":
        fail(f"POST /enrol/finish ({staff}): {s} {r.getheader('Location')}:\n{p[:2000]}")
    s, _, p = b.request("GET", "/signin")
    if s != 200:
        fail(f"GET /signin: {s}")
    # The enrolment used this step's code, which is accepted once: the next one.
    s, r, p = b.request("POST", "/signin", {
        "csrf": csrf(p, "GET /signin"), "name": staff, "password": PASSWORD,
        "totp": totp(secret, time.time() + clock_offset + 30)})
    if s != 303 or r.getheader("Location") != "/" or "__Host-itaku" not in b.jar:
        fail(f"POST /signin ({staff}): {s} {r.getheader('Location')}, cookies {sorted(b.jar)}:\n{p[:2000]}")
    return b


def receipt_rows(page):
    m = re.search(r'<section class="card" id="receipts">(.*?)</section>', page, re.S)
    return None if m is None else m.group(1).count("<tr>") - 1  # less the header row


def check_pages(b, history_path, subscriber, months):
    s, _, p = b.request("GET", "/")
    for sid in ("ndas-ending", "no-nda", "media-outstanding", "requests-overdue", "proposals",
                "refusals", "audit-chain"):
        if f'id="{sid}"' not in p:
            fail(f"GET / : {s}, no section {sid}:\n{p[:2000]}")
    if s != 200:
        fail(f"GET / : {s}")
    s, _, p = b.request("GET", history_path)
    rows = receipt_rows(p)
    if s != 200 or rows != months or subscriber not in p:
        fail(f"GET {history_path}: {s}, {rows} receipt rows, not {months}:\n{p[:3000]}")
    return len(p.encode())


def cpu_seconds(pid):
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(sorted_ms, p):
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def main():
    ap = argparse.ArgumentParser()
    for name in ("port", "clients", "duration", "runs", "months", "daemon-pid"):
        ap.add_argument("--" + name, type=int, required=True)
    for name in ("codes", "subscriber", "cli", "socket", "cli-user"):
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--clock-offset", type=float, default=0.0)
    a = ap.parse_args()
    codes = json.load(open(a.codes))
    if len(codes) < a.clients:
        fail(f"{len(codes)} enrolment codes for {a.clients} clients")
    history_path = "/history?subscriber=" + urllib.parse.quote(a.subscriber)
    pages = {"dashboard": "/", "history": history_path}

    t0 = time.monotonic()
    browsers = [enrol_and_sign_in(a.port, c["staff"], c["code"], a.clock_offset)
                for c in codes[:a.clients]]
    sizes = [check_pages(b, history_path, a.subscriber, a.months) for b in browsers]
    print(f"  {a.clients} staff enrolled through /enrol and signed in through /signin "
          f"({time.monotonic() - t0:.1f} s); each session sees the dashboard and "
          f"{a.months} receipts on the history page ({sizes[0]} bytes)", flush=True)

    # ---- the load: one thread per session, closed loop ----
    results = [[] for _ in browsers]  # (page, ms, status)
    errors = []
    start = threading.Barrier(len(browsers) + 1)
    deadline = [0.0]

    def client(i, b):
        start.wait()
        k = i % 2  # half start on the dashboard, half on the history page
        names = list(pages)
        try:
            while time.monotonic() < deadline[0]:
                page = names[k]
                k ^= 1
                t = time.perf_counter()
                s, _, body = b.request("GET", pages[page])
                ms = (time.perf_counter() - t) * 1000
                results[i].append((page, ms, s))
                if s != 200:
                    errors.append(f"{b.jar.get('__Host-itaku', '')[:6]} GET {pages[page]}: {s}: {body[:300]}")
        except Exception as e:  # a dropped connection is a failure, not a retry
            errors.append(f"client {i}: {type(e).__name__}: {e}")

    connects0 = sum(b.connects for b in browsers)
    threads = [threading.Thread(target=client, args=(i, b)) for i, b in enumerate(browsers)]
    for t in threads:
        t.start()
    load_before = os.getloadavg()[0]
    cpu0, own0 = cpu_seconds(a.daemon_pid), time.process_time()
    began = time.monotonic()
    deadline[0] = began + a.duration
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    cpu1, own1 = cpu_seconds(a.daemon_pid), time.process_time()
    reconnects = sum(b.connects for b in browsers) - connects0

    flat = [r for rs in results for r in rs]
    by_page = {p: sorted(ms for (q, ms, _) in flat if q == p) for p in pages}
    print(f"  load: {a.clients} sessions x {a.duration} s, each alternating GET / and "
          f"GET {history_path} on one keep-alive TLS connection, no pause between requests "
          f"(load average before: {load_before:.2f})", flush=True)
    for p in pages:
        t = by_page[p]
        if not t:
            fail(f"no {p} requests completed")
        print(f"  {p:9}  {len(t):6d} requests  p50 {pct(t, .5):7.1f} ms  p95 {pct(t, .95):7.1f} ms  "
              f"p99 {pct(t, .99):7.1f} ms  max {t[-1]:7.1f} ms  mean {statistics.fmean(t):7.1f} ms")
    both = sorted(ms for (_, ms, _) in flat)
    print(f"  all        {len(both):6d} requests in {elapsed:.1f} s: {len(both) / elapsed:.1f} requests/s "
          f"({len(by_page['dashboard']) / elapsed:.1f} dashboard/s, {len(by_page['history']) / elapsed:.1f} history/s); "
          f"p50 {pct(both, .5):.1f} ms  p99 {pct(both, .99):.1f} ms")
    print(f"  daemon CPU {cpu1 - cpu0:.1f} s, load generator CPU {own1 - own0:.1f} s over {elapsed:.1f} s "
          f"on {os.cpu_count()} cores; {reconnects} reconnections, {len(errors)} failed requests")
    for e in errors[:10]:
        print("    " + e, file=sys.stderr)

    # ---- the same history query, console idle: the console alone, then the CLI ----
    solo = []
    for _ in range(a.runs * 4):
        t = time.perf_counter()
        s, _, body = browsers[0].request("GET", history_path)
        solo.append((time.perf_counter() - t) * 1000)
        if s != 200 or receipt_rows(body) != a.months:
            fail(f"GET {history_path} after the load: {s}")
    solo.sort()
    solo_dash = []
    for _ in range(a.runs * 4):
        t = time.perf_counter()
        s, _, body = browsers[0].request("GET", "/")
        solo_dash.append((time.perf_counter() - t) * 1000)
        if s != 200:
            fail(f"GET / after the load: {s}")
    solo_dash.sort()
    cli = []
    argv = [a.cli, "--socket", a.socket, "history", "--subscriber", a.subscriber]
    for _ in range(a.runs):
        t = time.perf_counter_ns()
        p = subprocess.run(argv, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, user=a.cli_user,
                           group=0, extra_groups=[], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cli.append((time.perf_counter_ns() - t) / 1e6)
        if p.returncode != 0:
            fail(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    cli.sort()
    cli_med = statistics.median(cli)
    solo_med = statistics.median(solo)
    hist = by_page["history"]
    print(f"  idle, one session, {len(solo)} in a row: dashboard median "
          f"{statistics.median(solo_dash):6.1f} ms  max {solo_dash[-1]:6.1f} ms")
    print(f"  idle, one session, {len(solo)} in a row: history   median {solo_med:6.1f} ms  "
          f"max {solo[-1]:6.1f} ms (console page)")
    print(f"  idle, `itaku history --subscriber` x {len(cli)}:      median {cli_med:6.1f} ms  "
          f"max {cli[-1]:6.1f} ms (CLI through the staff API, spawn to exit)")
    print(f"  console/CLI: idle median {solo_med / cli_med:.2f}x; "
          f"under load p50 {pct(hist, .5) / cli_med:.1f}x, p99 {pct(hist, .99) / cli_med:.1f}x")
    p99 = pct(both, .99)
    print(f"console p99 (dashboard+history, {a.clients} sessions): {p99:.1f} ms (target < 200 ms: "
          f"{'met' if p99 < 200 else 'MISSED'})")
    if errors:
        fail(f"{len(errors)} requests failed during the load")


if __name__ == "__main__":
    main()
