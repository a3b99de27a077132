"""The app in a real browser: `streamlit run` headless on localhost, driven by Debian's Chromium
through Playwright; then 8 concurrent visitors. Screenshots go to $ILSVRC_KERAS_TEST_ARTIFACTS
(default: test-artifacts/ in the repository)."""

import contextlib
import json
import os
import re
from pathlib import Path

import pytest

from conftest import ROOT

pytest.importorskip("playwright")
import e2e  # noqa: E402  (tests/e2e.py, the browser harness)

ARTIFACTS = Path(os.environ.get("ILSVRC_KERAS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
PHOTO = "ILSVRC2012_val_00000010.JPEG"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(e2e.chromium_path() is None,
                       reason="Chromium is not installed (apt-get install chromium; .ci/run does it)"),
]


@pytest.fixture(scope="module")
def server(mobilenet_weights):
    env = {"ILSVRC_KERAS_WEIGHTS_DIR": str(mobilenet_weights.parent), "ILSVRC_KERAS_OFFLINE": "1"}
    with e2e.serve(env) as (url, proc):
        yield url, proc


@contextlib.contextmanager
def _page(url):
    """A page of the app in Debian's Chromium, desktop-sized."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=e2e.chromium_path(), args=e2e.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            yield page
        finally:
            browser.close()


def test_upload_classify_then_localize_in_chromium(server, val_sample, mobilenet):
    from playwright.sync_api import expect

    url, _ = server
    photo = val_sample / "images" / PHOTO
    top = mobilenet.classify(photo, top=1)[0]
    with _page(url) as page:
        expect(page.get_by_text("ILSVRC: classify, localize, and the challenge's story")).to_be_visible(timeout=60_000)
        page.locator(e2e.UPLOAD_INPUT).set_input_files(str(photo))
        answer = page.locator("p", has_text=f"{PHOTO}: {top.name} ({top.probability:.1%})")
        expect(answer).to_be_visible(timeout=60_000)
        top5 = page.get_by_role("listitem")
        expect(top5).to_have_count(5)
        expect(top5.first).to_have_text(f"{top.name}: {top.probability:.1%}")
        # The bar chart has drawn (vega-embed renders after the text).
        expect(page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first
               ).to_be_visible(timeout=30_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "app-classify.png"), full_page=True)

        page.get_by_role("tab", name="Localization").click()
        caption = page.get_by_text(f"{top.name}: box (")
        expect(caption).to_be_visible(timeout=60_000)
        overlay = page.locator('[data-testid="stImage"] img').last
        expect(overlay).to_be_visible()
        assert e2e.wait_pictures_loaded(overlay)[0] > 100  # a real picture, loaded
        expect(page.get_by_role("button", name="Download the overlay (PNG)")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "app-localization.png"), full_page=True)

        # A file that is not an image: a sentence in the page, no traceback, the app still works.
        bad = ARTIFACTS / "notes.jpg"
        bad.write_bytes(b"these are not pixels")
        page.get_by_role("tab", name="Classify").click()
        page.locator(e2e.UPLOAD_INPUT).set_input_files(str(bad))
        expect(page.get_by_text("notes.jpg:").first).to_be_visible(timeout=60_000)
        assert "Traceback" not in page.content()
        expect(answer).to_be_visible()


def test_milestones_compare_and_explanations_in_chromium(server, val_sample, mobilenet):
    from playwright.sync_api import expect

    url, _ = server
    photo = val_sample / "images" / PHOTO
    top = mobilenet.classify(photo, top=1)[0]
    with _page(url) as page:
        page.get_by_role("tab", name="Milestones").click()
        charts = page.locator(e2e.CHART)
        expect(charts).to_have_count(2, timeout=60_000)  # both charts rendered by vega-embed
        milestones = page.get_by_role("tabpanel", name="Milestones")
        expect(milestones.get_by_test_id("stDataFrame")).to_be_visible()  # the zoo's table
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "app-milestones.png"), full_page=True)

        page.locator(e2e.UPLOAD_INPUT).set_input_files(str(photo))
        page.get_by_role("tab", name="Compare networks").click()
        # The comparison's own table (the Milestones tab keeps its table, hidden, beside it).
        table = page.get_by_role("tabpanel", name="Compare networks").get_by_test_id("stTable")
        expect(table).to_be_visible(timeout=60_000)
        expect(table).to_contain_text("mobilenet_0.25_128")  # a static table: every cell whole, top-5 included
        expect(page.get_by_text("through every network available here (1)")).to_be_visible()
        expect(page.get_by_text("Only one network is available here")).to_be_visible()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "app-compare.png"), full_page=True)

        page.get_by_role("tab", name="Explanations").click()
        for method in ("Grad-CAM", "Grad-CAM++", "CAM"):
            # Anchored: "CAM: box (" alone would also find "Grad-CAM: box (".
            expect(page.get_by_text(re.compile(rf"^{re.escape(method)}: box \("))).to_be_visible(timeout=60_000)
        overlays = page.locator('[data-testid="stImage"] img')
        expect(overlays).to_have_count(3)
        assert min(e2e.wait_pictures_loaded(overlays)) > 100  # three real pictures, loaded
        assert top.name in page.content()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "app-explanations.png"), full_page=True)
        assert "Traceback" not in page.content()


def test_concurrent_visitors_get_correct_answers_without_leaking(server, val_sample, mobilenet_weights):
    """Four visitors at once, twice (a warm-up run, then the measured one). The load figures in
    docs/benchmarks.md come from `python tests/e2e.py` (8 visitors x 10 photos); this keeps the suite short."""
    url, proc = server
    photos = e2e.expected_answers(val_sample / "images", weights=mobilenet_weights, count=10)
    result = e2e.load_test(url, proc, photos, sessions=4, per_session=2)
    print(json.dumps(result))
    (ARTIFACTS / "app-load.json").parent.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "app-load.json").write_text(json.dumps(result, indent=1))
    assert result["errors"] == [] and result["answers"] == 8
    assert result["views_opened"] == 4 * len(e2e.VIEW_CHECKS)  # every visitor also browsed the new views
    assert result["rss_growth"] < 0.10, result
