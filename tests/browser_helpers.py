"""Helpers for the page tests: open the app, wait for the detector, drop files, read result rows."""

READY_TIMEOUT_MS = 120_000


def open_app(browser, url, **context_kw):
    """A fresh context + page on the app; every request URL is recorded in page.requests."""
    context = browser.new_context(**context_kw)
    page = context.new_page()
    page.requests = []
    page.on("request", lambda req: page.requests.append(req.url))
    context.on("request", lambda req: page.requests.append(req.url))  # includes the worker's fetches
    page.main_response = page.goto(url)
    return page


def wait_ready(page, timeout=READY_TIMEOUT_MS):
    page.wait_for_selector('[data-testid=status][data-state="ready"], [data-testid=status][data-state="error"]',
                           state="attached", timeout=timeout)
    status = page.locator("[data-testid=status]")
    assert status.get_attribute("data-state") == "ready", status.text_content()


def wait_all_workers(page, timeout=READY_TIMEOUT_MS):
    """Every worker of the pool (one per core) has loaded, not only the first, and has its second detector,
    which each fetches after it is ready: from then on the page makes no request, and every row is judged
    as CPython judges it (by both detectors, where the weights carry the CNN's head)."""
    page.wait_for_selector('[data-testid=status][data-all-ready="true"]', state="attached", timeout=timeout)
    page.wait_for_selector('[data-testid=network-status][data-all-ready="true"]', state="attached", timeout=timeout)


def drop_files(page, files):
    """files: list of (name, bytes). Uses the file input, as a person picking files does."""
    payload = [{"name": n, "mimeType": "application/octet-stream", "buffer": b} for n, b in files]
    page.set_input_files("input[type=file][data-testid=file-input]", payload)


def results(page, expected, timeout=READY_TIMEOUT_MS):
    """Wait until `expected` rows carry a label, then return them as dicts (in table order)."""
    page.locator("[data-testid=result][data-label]").nth(expected - 1).wait_for(state="attached", timeout=timeout)
    rows = []
    for row in page.locator("[data-testid=result]").all():
        rows.append({
            "name": row.get_attribute("data-name"),
            "label": row.get_attribute("data-label"),
            "p_fake": row.get_attribute("data-p-fake"),
            "features": row.get_attribute("data-features"),
            "error": row.get_attribute("data-error"),
            "reason": row.get_attribute("data-reason"),
        })
    return rows


def worker_message_recorder(name, msg_type, field):
    """An init script (installed before the page's own) that keeps `field` of every message of `msg_type`
    any worker posts, in window[name]."""
    return f"""
window.{name} = [];
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {{
  constructor(...args) {{
    super(...args);
    this.addEventListener("message", (e) => {{ if (e.data.type === "{msg_type}") window.{name}.push(e.data.{field}); }});
  }}
}};
"""
