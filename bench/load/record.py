"""What the real pages send, recorded in headless Chromium: the reference for loadgen.py's
requests (issue 7). Starts the system of bench/load (one worker), signs in one user of each
audience, opens the wall, the mayor's review (then a period, a kecamatan and a KPI of the
comparison, as a person would) and the parent portal, and prints every request to the server:
method, path, the headers a script cannot guess, and each Dash callback's outputs, inputs and
state (values shortened).

    .venv/bin/python bench/load/record.py [--seconds 6]   # about a minute
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import sync_playwright

from bench.load.system import System
from tests.browser.conftest import chromium_path

SKIP = ("/_dash-component-suites/", "/assets/", "/_favicon.ico", "blob:")


def short(value: object, limit: int = 90) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"


def describe(request) -> str:
    path = urlsplit(request.url)
    line = f"{request.method} {path.path}{'?' + path.query if path.query else ''}"
    if path.path.endswith("_dash-update-component") and request.post_data:
        body = json.loads(request.post_data)
        line += f"\n    output={body['output']}"
        line += f"\n    inputs={short(body.get('inputs'))}"
        line += f"\n    state={short(body.get('state'))}"
        line += f"\n    changedPropIds={body.get('changedPropIds')}"
        headers = request.headers
        line += f"\n    headers: x-csrftoken={'x-csrftoken' in headers} "
        line += f"content-type={headers.get('content-type')} accept={headers.get('accept')}"
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="time on each page")
    args = parser.parse_args()
    with System(workers=1, keep=True) as system:
        users = system.make_users(1, 1, 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path())
            for user in users:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(
                    [
                        {"name": k, "value": v, "domain": "127.0.0.1", "path": "/"}
                        for k, v in (c.split("=", 1) for c in user.cookie.split("; "))
                    ]
                )
                page = context.new_page()
                log: list[str] = []
                page.on(
                    "request",
                    lambda r, log=log: (
                        None
                        if any(r.url.startswith(s) or s in urlsplit(r.url).path for s in SKIP)
                        else log.append(describe(r))
                    ),
                )
                page.on(
                    "response",
                    lambda r, log=log: (
                        None
                        if any(r.url.startswith(s) or s in urlsplit(r.url).path for s in SKIP)
                        else log.append(f"  <- {r.status} {urlsplit(r.url).path}")
                    ),
                )
                ms = int(args.seconds * 1000)
                if user.audience == "wall":
                    page.goto(system.base + "/")
                    page.wait_for_timeout(ms)
                elif user.audience == "parent":
                    page.goto(system.base + "/parent")
                    page.wait_for_timeout(ms)
                else:
                    page.goto(system.base + "/kpi")
                    page.wait_for_timeout(ms)
                    for step, selector in (
                        ("period 7 hari", "a.chip[href*='periode=7d']"),
                        ("a kecamatan", "a[href*='wilayah=16.74.0']"),
                        ("comparison KPI", "#review-compare-kpi"),
                    ):
                        log.append(f"--- {step}")
                        page.click(selector)
                        page.wait_for_timeout(ms)
                    page.keyboard.press("ArrowDown")
                    page.keyboard.press("ArrowDown")
                    page.keyboard.press("Enter")
                    page.wait_for_timeout(ms)
                print(f"===== {user.audience} =====")
                print("\n".join(log))
                page.screenshot(path=str(system.tmp / f"{user.audience}.png"))
                context.close()
            browser.close()
        print(f"screenshots and logs in {system.tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
