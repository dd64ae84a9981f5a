"""The page of ``nerwin serve`` in a real browser: headless Chromium (Debian's ``chromium``)
driven by Playwright. What it highlights is what ``POST /ner`` returns; hostile text shows
literally and runs nothing; the page works under its own Content-Security-Policy."""

import json
import os
import shutil
import threading
import urllib.request

import pytest

from nerwin import serve as S

CHROMIUM = os.environ.get("NERWIN_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TEXT = ("Angela Merkel met Emmanuel Macron in Paris on Monday. 😀 Later, Barack Obama flew to Berlin "
        "with staff from IBM and the European Union.")
HOSTILE = ('<script>alert(1)</script> Angela Merkel <img src=x onerror=alert(1)> visited Paris & '
           '"Berlin" <b onmouseover=alert(2)>IBM</b> </textarea><svg onload=alert(3)>')

if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NERWIN_CHROMIUM)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install 'nerwin[browser]')")


@pytest.fixture(scope="module")
def server():
    httpd = S.make_server(S.app(), port=0, threads=4, quiet=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=60_000)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page of the server, loaded; ``page.dialogs`` and ``page.problems`` collect any
    dialog (alert) opened and any console error or failed request (a CSP refusal shows here)."""
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    pg = context.new_page()
    pg.dialogs, pg.problems = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: m.type == "error" and pg.problems.append(m.text))
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("requestfailed", lambda r: pg.problems.append(f"failed: {r.url}"))
    pg.goto(server + "/")
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    context.close()


def post_ner(server, text):
    request = urllib.request.Request(server + "/ner", json.dumps({"text": text}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())["entities"]


def tag(page, text, keyboard=False):
    """Put ``text`` in the box, press the button (or Ctrl+Enter), and read back what the page
    shows: each highlighted entity and the text of the output without the type labels."""
    page.fill("#text", text)
    if keyboard:
        page.press("#text", "Control+Enter")
    else:
        page.click("#tag")
    page.locator("#status", has_text="entit").wait_for(timeout=30_000)   # a selector: the CSP forbids eval
    marks = page.eval_on_selector_all("#output mark", """ms => ms.map(m => ({
        start: Number(m.dataset.start), end: Number(m.dataset.end), label: m.dataset.label,
        text: m.firstChild.textContent, title: m.title, colour: getComputedStyle(m).backgroundColor}))""")
    shown = page.evaluate("""() => { const out = document.getElementById('output').cloneNode(true);
        out.querySelectorAll('sub').forEach(s => s.remove()); return out.textContent; }""")
    return marks, shown


def test_the_page_highlights_what_post_ner_returns(page, server, tmp_path):
    marks, shown = tag(page, TEXT)
    expected = post_ner(server, TEXT)
    assert len(expected) >= 4
    assert [(m["start"], m["end"], m["label"], m["text"]) for m in marks] == \
        [(e["start"], e["end"], e["label"], e["text"]) for e in expected]
    assert [m["title"] for m in marks] == [f"{e['label']} {e['score']:.2f}" for e in expected]   # score on hover
    assert shown == TEXT   # the whole text, in order, the emoji counted right
    colours = {}
    for m in marks:
        assert colours.setdefault(m["label"], m["colour"]) == m["colour"]   # one colour per type
    assert len(set(colours.values())) == len(colours)
    legend = page.eval_on_selector_all("#legend mark", "ms => ms.map(m => m.textContent)")
    assert legend == json.loads(urllib.request.urlopen(server + "/model", timeout=30).read())["labels"]
    assert page.text_content("#status") == f"{len(expected)} entities"
    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.dialogs == [] and page.problems == []


def test_hostile_text_is_shown_literally_and_runs_nothing(page, server):
    marks, shown = tag(page, HOSTILE, keyboard=True)
    assert shown == HOSTILE
    assert page.dialogs == []
    assert page.eval_on_selector_all("#output *", "els => [...new Set(els.map(e => e.tagName))]") in \
        (["MARK", "SUB"], [])   # no element but the highlights: no script, img, svg or b
    assert [(m["start"], m["end"], m["text"]) for m in marks] == \
        [(e["start"], e["end"], e["text"]) for e in post_ner(server, HOSTILE)]
    page.hover("#output")   # an onmouseover would fire now if the <b> had become an element
    page.wait_for_timeout(300)
    assert page.dialogs == [] and page.problems == []


def test_an_error_is_shown_not_thrown(page, server):
    page.fill("#text", "x" * 10)
    page.route("**/ner", lambda route: route.fulfill(status=413, content_type="application/json",
                                                     body='{"error": "the body is too big <b>x</b>"}'))
    page.click("#tag")
    page.wait_for_selector("#status.error", timeout=30_000)
    assert page.text_content("#status") == "Error: the body is too big <b>x</b>"
    assert page.eval_on_selector_all("#status *", "els => els.length") == 0
