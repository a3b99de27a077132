"""Drive the real app in a real browser: the server, Chromium, and a load run.

Used by the browser tests (tests/test_app_browser.py) and as the app's load benchmark:

    python tests/e2e.py --images DIR [--sessions 8] [--photos 10] [--json]

starts ``streamlit run app/streamlit_app.py`` on a free localhost port, opens ``--sessions``
browser sessions at once (Debian's Chromium through Playwright), each uploading ``--photos``
photos one after another and waiting until the page shows the class the library itself gives,
and prints the latency from upload to answer (p50/p95) and the server's memory before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app" / "streamlit_app.py"
CHROMIUM = os.environ.get("ILSVRC_KERAS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialing Google's hosts, which a closed
# network refuses; a fresh profile per launch keeps runs independent.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
UPLOAD_INPUT = '[data-testid="stFileUploaderDropzoneInput"]'


def chromium_path() -> str | None:
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict | None = None, args=(), timeout: float = 120):
    """``streamlit run`` the app headless on a free port; yields ``(url, process)``."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", *(["--", *args] if args else [])]
    log = open(os.environ.get("ILSVRC_KERAS_APP_LOG", os.devnull), "ab")
    # glibc gives each thread that allocates its own malloc arena; Streamlit runs every session's
    # script in a thread, and without a cap the RSS grows ~10% with 8 concurrent visitors (measured).
    env = {"MALLOC_ARENA_MAX": "2", **os.environ, **(env or {})}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start (exit {proc.poll()})")
            time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def rss_mb(proc) -> float:
    import psutil

    return psutil.Process(proc.pid).memory_info().rss / 2**20


CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
# Each view and what shows it has rendered: the charts, the comparison's table, the explanations' overlays.
VIEW_CHECKS = (("Milestones", CHART), ("Compare networks", '[data-testid="stTable"]'),
               ("Explanations", "text=CAM: box"))


async def _session(browser, url, photos, latencies, errors, timeout_ms, views):
    """One visitor: open the page, then upload each photo and wait for its expected top-1 class."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await page.goto(url, timeout=timeout_ms)
        await page.wait_for_selector(UPLOAD_INPUT, state="attached", timeout=timeout_ms)
        for path, expected in photos:
            start = time.perf_counter()
            await page.locator(UPLOAD_INPUT).set_input_files(str(path))
            answer = page.locator("p", has_text=f"{Path(path).name}: {expected} (")
            try:
                await answer.first.wait_for(timeout=timeout_ms)
                latencies.append(time.perf_counter() - start)
            except Exception as exc:  # a wrong or missing answer is a result, not a crash of the run
                errors.append(f"{Path(path).name}: expected {expected!r} ({type(exc).__name__})")
        # Then the other views, as a visitor browsing the page would (their work is in the load too).
        for tab, selector in VIEW_CHECKS:
            try:
                await page.get_by_role("tab", name=tab).click()
                # Within the view's own panel: the other tabs keep theirs, hidden (a Milestones table too).
                await page.get_by_role("tabpanel", name=tab).locator(selector).first.wait_for(timeout=timeout_ms)
                views.append(tab)
            except Exception as exc:
                errors.append(f"{tab} view: {type(exc).__name__}")
    finally:
        await context.close()


async def _load(url, photos, sessions, per_session, timeout_ms):
    from playwright.async_api import async_playwright

    latencies, errors, views = [], [], []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            jobs = [_session(browser, url, [photos[(s + i) % len(photos)] for i in range(per_session)],
                             latencies, errors, timeout_ms, views) for s in range(sessions)]
            await asyncio.gather(*jobs)
        finally:
            await browser.close()
    return latencies, errors, views


def wait_pictures_loaded(locator, timeout_ms=60_000) -> list[int]:
    """Scroll each `<img>` of `locator` into view and wait until the browser has decoded it; return
    their natural widths. Streamlit's images may load lazily and after the caption beside them has
    rendered, so reading `naturalWidth` at once can see 0 on a slow machine."""
    widths = []
    for i in range(locator.count()):
        img = locator.nth(i)
        img.scroll_into_view_if_needed(timeout=timeout_ms)
        handle = img.element_handle(timeout=timeout_ms)
        img.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle,
                                   timeout=timeout_ms)
        widths.append(img.evaluate("img => img.naturalWidth"))
    return widths


def load_test(url, proc, photos, sessions=8, per_session=10, timeout_ms=120_000) -> dict:
    """``sessions`` concurrent visitors classifying ``per_session`` photos each and opening every view,
    twice: the first run warms the server up (models, traced functions, caches, the allocators' high-water
    mark under this concurrency), the second is measured. A leak grows the memory between the two runs.

    ``photos``: ``(path, expected top-1 name)`` pairs. Returns latencies (s), errors, and the
    server's memory after the warm-up run and after the measured one."""
    _, warm_errors, _ = asyncio.run(_load(url, photos, sessions, per_session, timeout_ms))
    before = rss_mb(proc)
    start = time.perf_counter()
    latencies, errors, views = asyncio.run(_load(url, photos, sessions, per_session, timeout_ms))
    wall = time.perf_counter() - start
    after = rss_mb(proc)
    q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else [float("nan")] * 19
    return {"sessions": sessions, "photos_per_session": per_session, "answers": len(latencies),
            "views_opened": len(views),
            "errors": warm_errors + errors, "p50_s": round(statistics.median(latencies), 3) if latencies else None,
            "p95_s": round(q[18], 3), "wall_s": round(wall, 1), "rss_after_warmup_mb": round(before, 1),
            "rss_after_run_mb": round(after, 1), "rss_growth": round(after / before - 1, 4)}


def expected_answers(images, weights=None, count=10):
    """``(path, top-1 name)`` for the first ``count`` images, from the library itself."""
    import ilsvrc_keras

    paths = sorted(p for p in Path(images).iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))[:count]
    clf = ilsvrc_keras.load("mobilenet_0.25_128", weights=weights)
    return [(p, clf.classify(p, top=1)[0].name) for p in paths]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", required=True, help="a folder of photos (e.g. the ILSVRC2012 val sample)")
    parser.add_argument("--weights-dir", help="folder holding mobilenet_2_5_128_tf.h5 (sets ILSVRC_KERAS_WEIGHTS_DIR)")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args(argv)
    env = {"ILSVRC_KERAS_OFFLINE": "1"}
    if a.weights_dir:
        env["ILSVRC_KERAS_WEIGHTS_DIR"] = str(Path(a.weights_dir).resolve())
        os.environ.update(env)
    photos = expected_answers(a.images, count=a.photos)
    with serve(env) as (url, proc):
        result = load_test(url, proc, photos, a.sessions, a.photos)
    if a.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:22s} {v}")
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
