#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# TEST-SIDE STAND-IN, NOT PART OF OBRIDGE. A streaming load client built the way the Python
# LLM bench tools (vLLM's benchmark client and its kin) are built: asyncio + aiohttp, one
# ClientSession, responses read line by line with `async for line in resp.content`, each line
# time-stamped with time.perf_counter_ns() when it arrives and then parsed with json.loads.
# tests/bench-streams.sh runs it beside `obridge bench` against the same `obridge sim`, so
# that obridge's CPU per chunk, memory and accuracy have a reference. It is written for this
# project (no code taken from vLLM) and is deliberately plain: no tricks a bench tool would
# not use.
#
#   aiostream.py --url http://127.0.0.1:PORT -c C -d SECONDS --tok-interval-ns N [--uvloop]
#
# C closed-loop workers each send POST /api/generate ({"model", "prompt", "stream": true,
# "options": {"num_predict": 64}}) one after another until D seconds have passed; no new
# request starts after that and the in-flight ones finish (as obridge bench does: the
# window includes the drain). At the end it prints one JSON object:
#   requests ok/failed, chunks (every NDJSON line, as obridge counts them), token lines,
#   ttft p50/p99 ns (request start to the first token line, connection set-up included, as
#   obridge measures it), first_wave_ttft (the first C requests, which open the connections)
#   and later_ttft (the rest), itl p50/p99 ns (gaps between consecutive token lines of one
#   stream), coalesced_pct (the share of those gaps under 100 us: lines that arrived in one
#   read), chunks_per_s (chunks / window), offered_chunks_per_s (C x 1e9 / tok-interval-ns)
#   and kept_up_pct (the one against the other).
import argparse
import asyncio
import json
import sys
import time

import aiohttp

COALESCED_NS = 100_000


def pct(sorted_vals, p):
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def dist(vals):
    vals.sort()
    return {"count": len(vals), "p50_ns": pct(vals, 50), "p99_ns": pct(vals, 99)}


class Run:
    def __init__(self, args):
        self.args = args
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.chunks = 0
        self.token_lines = 0
        self.ttft_first = []
        self.ttft_later = []
        self.gaps = []
        self.started = 0
        self.t_end = 0

    def fail(self, msg):
        self.failed += 1
        self.errors[msg] = self.errors.get(msg, 0) + 1

    async def one(self, session, url, body, first_wave):
        t0 = time.perf_counter_ns()
        first = 0
        last = 0
        done = False
        try:
            async with session.post(url, data=body,
                                    headers={"Content-Type": "application/json"}) as resp:
                if resp.status != 200:
                    text = (await resp.text())[:200]
                    self.fail("HTTP %d: %s" % (resp.status, text.strip()))
                    return
                async for raw in resp.content:
                    t = time.perf_counter_ns()
                    line = raw.strip()
                    if not line:
                        continue
                    self.chunks += 1
                    msg = json.loads(line)
                    if "error" in msg:
                        self.fail("error line: %s" % str(msg["error"])[:200])
                        return
                    if msg.get("done"):
                        done = True  # read on to the end of the body: the connection is reused
                        continue
                    self.token_lines += 1
                    if first:
                        self.gaps.append(t - last)
                    else:
                        first = t
                    last = t
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError, OSError) as e:
            self.fail("%s: %s" % (type(e).__name__, str(e)[:200]))
            return
        finally:
            end = time.perf_counter_ns()
            if end > self.t_end:
                self.t_end = end
        if not done:
            self.fail("the stream ended without a done line")
            return
        self.ok += 1
        if first:
            (self.ttft_first if first_wave else self.ttft_later).append(first - t0)

    async def worker(self, session, url, body, deadline):
        while time.perf_counter_ns() < deadline:
            first_wave = self.started < self.args.concurrency
            self.started += 1
            await self.one(session, url, body, first_wave)

    async def main(self):
        a = self.args
        url = a.url.rstrip("/") + "/api/generate"
        body = json.dumps({"model": a.model, "prompt": a.prompt, "stream": True,
                           "options": {"num_predict": a.max_tokens}}).encode()
        conn = aiohttp.TCPConnector(limit=a.concurrency, limit_per_host=a.concurrency)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
        async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
            t0 = time.perf_counter_ns()
            deadline = t0 + int(a.duration * 1e9)
            await asyncio.gather(*(self.worker(session, url, body, deadline)
                                   for _ in range(a.concurrency)))
        window = max(self.t_end - t0, 1)
        chunks_per_s = self.chunks / (window / 1e9)
        offered = a.concurrency * 1e9 / a.tok_interval_ns
        ttft_all = self.ttft_first + self.ttft_later
        coalesced = sum(1 for g in self.gaps if g < COALESCED_NS)
        out = {
            "client": "aiohttp " + aiohttp.__version__,
            "loop": a.loop_name,
            "concurrency": a.concurrency,
            "window_ns": window,
            "requests": {"ok": self.ok, "failed": self.failed},
            "errors": self.errors,
            "chunks": self.chunks,
            "token_lines": self.token_lines,
            "ttft": dist(ttft_all),
            "first_wave_ttft": dist(self.ttft_first),
            "later_ttft": dist(self.ttft_later),
            "itl": dist(self.gaps),
            "coalesced_pct": round(100.0 * coalesced / len(self.gaps), 2) if self.gaps else None,
            "chunks_per_s": round(chunks_per_s, 1),
            "offered_chunks_per_s": round(offered, 1),
            "kept_up_pct": round(100.0 * chunks_per_s / offered, 1),
        }
        json.dump(out, sys.stdout)
        sys.stdout.write("\n")
        return 0 if self.ok else 2


def main():
    p = argparse.ArgumentParser(description="asyncio + aiohttp streaming client "
                                "(a test-side stand-in for the Python bench tools)")
    p.add_argument("--url", required=True, help="base URL of an Ollama server")
    p.add_argument("-c", "--concurrency", type=int, required=True)
    p.add_argument("-d", "--duration", type=float, required=True, help="seconds")
    p.add_argument("--tok-interval-ns", type=int, required=True,
                   help="the server's time between tokens, for the offered chunk rate")
    p.add_argument("-m", "--model", default="llama3.2")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--prompt", default="Write a short story about a lighthouse keeper "
                   "who finds a message in a bottle on a night of storms.")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's loop")
    a = p.parse_args()
    if a.concurrency < 1 or a.duration <= 0 or a.tok_interval_ns <= 0:
        p.error("-c, -d and --tok-interval-ns must be positive")
    a.loop_name = "asyncio"
    if a.uvloop:
        import uvloop
        uvloop.install()
        a.loop_name = "uvloop " + uvloop.__version__
    return asyncio.run(Run(a).main())


if __name__ == "__main__":
    sys.exit(main())
