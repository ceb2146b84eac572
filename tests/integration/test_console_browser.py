"""The outlet console in a real browser: ``sscard serve outlet`` as a process (its simulated printer
at NN01, the mechanics at a fifth of real speed so every step shows), Playwright driving Debian's
chromium (never a downloaded browser).

An operator signs in, enrols the applicant and files an instant application with the sample photo
(judged on the spot), marks it, and watches the job move without reloading the page. She opens the
printer's cover from the simulator panel: the job pauses and the page says what to do; she closes
the cover and the job resumes and finishes with the face previewed. An operator of another outlet
cannot see the job, and is refused its address. Her supervisor mistypes his password once, then finds
both his sign-ins and her session in the audit log, and signs out. Screenshots of the main pages are saved (to
``$SSCARD_SCREENSHOTS`` when set, e.g. ``docs/screenshots``; else to the test's folder).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
PASSWORD = "browser-password-1"
PHOTO = Path(str(resources.files("sscard_issuer.data").joinpath("sample_photo.jpg")))
SAMPLE = json.loads(resources.files("sscard_issuer.data").joinpath("sample_applicant.json").read_text("utf-8"))
# the job's path through the printer, as the page marks it (data-state)
IN_THE_PRINTER = ("fed", "at_encoder", "personalised", "verified")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Console:
    base: str
    out: Path
    shots: Path

    def shot(self, page: Page, name: str, *, full_page: bool = False) -> None:
        """A screenshot, kept small: 128 colours are plenty for a page of text and forms."""
        image = Image.open(io.BytesIO(page.screenshot(full_page=full_page))).convert("RGB")
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            self.shots / f"{name}.png", optimize=True)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    port = free_port()
    out = tmp_path / "printers"
    shots = Path(os.environ.get("SSCARD_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SSCARD_DEMO_PASSWORD": PASSWORD, "SSCARD_CONSOLE_SECRET": "browser-test-secret"}
    env.pop("SSCARD_DATABASE_URL", None)
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "sscard_issuer", "serve", "outlet", "--host", "127.0.0.1", "--port", str(port),
         "--database", f"sqlite:///{tmp_path / 'registry.sqlite3'}", "--simulated-printers", "1", "--outlet", "NN01",
         "--out", str(out), "--timing-scale", "0.2", "--demo-staff"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/console/sign-in", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the console did not start"
            time.sleep(0.2)
        yield Console(base, out, shots)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(browser: Browser, console: Console, username: str, *, shot: bool = False, mistype: bool = False
            ) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    page.goto(console.base + "/console/")
    expect(page.locator("h1")).to_have_text("工作人员登录")
    if mistype:  # refused in plain words, the username kept
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "not-" + PASSWORD)
        page.click("#sign-in")
        expect(page.locator("#refusal")).to_contain_text("用户名或密码错误")
        expect(page.locator("input[name=username]")).to_have_value(username)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    if shot:
        console.shot(page, "sign-in")
    page.click("#sign-in")
    expect(page.locator("#signed-in-as")).to_contain_text(username)
    return page


def job_state(page: Page) -> str:
    state: str = page.eval_on_selector("#job-state", "e => e.dataset.state")
    return state


def test_an_operator_issues_a_card_through_a_printer_fault_and_another_outlet_cannot_see_it(
        console: Console, browser: Browser) -> None:
    page = sign_in(browser, console, "wang.li", shot=True)
    expect(page.locator("[data-printer=SIM1]")).to_be_visible()
    console.shot(page, "dashboard")

    # enrolment (in production it comes from the social insurance system), then the application
    page.click("text=参保登记")
    page.fill("input[name=name]", SAMPLE["name"])
    page.fill("input[name=document_number]", SAMPLE["ssn"])
    page.fill("input[name=insured_since]", "2020-01-01")
    page.click("#enrol")
    expect(page.locator(".flash.ok")).to_contain_text("参保登记已记录")

    page.fill("input[name=name]", SAMPLE["name"])
    page.fill("input[name=document_number]", SAMPLE["ssn"])
    page.set_input_files("#photo", str(PHOTO))
    expect(page.locator(".photo-result")).to_contain_text("照片合格")  # judged on the spot
    page.check("#instant")
    console.shot(page, "application", full_page=True)
    page.click("#file-application")
    expect(page.locator("#filed")).to_contain_text("申请已受理")

    page.click("#mark-instant")
    expect(page.locator("h1")).to_contain_text("任务 #")
    job_url = page.url
    page.evaluate("window.sameDocument = true")  # gone if the page were reloaded

    # the job moves live: states seen without a reload, until the card is inside the printer
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while (state := job_state(page)) not in IN_THE_PRINTER:
        if not seen or seen[-1] != state:
            seen.append(state)
        assert time.monotonic() < deadline, f"the job did not start: {seen}"
        time.sleep(0.05)
    seen.append(state)

    # a fault, as an operator meets it: the cover opened while the card is in the printer
    page.click("#sim-1-open_cover")
    paused = page.locator("#job-paused")
    expect(paused).to_contain_text("请关闭打印机上盖", timeout=30_000)
    expect(page.locator("[data-printer=SIM1]")).to_have_attribute("data-state", "paused")
    expect(page.locator("[data-printer=SIM1] .advice")).to_contain_text("请关闭打印机上盖")
    held = job_state(page)
    time.sleep(1.0)
    assert job_state(page) == held  # nothing moves while the printer is paused
    console.shot(page, "job-paused", full_page=True)

    page.click("#sim-1-close_cover")
    expect(page.locator("#job-paused")).to_have_count(0, timeout=30_000)
    expect(page.locator("#job-state")).to_have_attribute("data-state", "ecard_issued", timeout=60_000)
    expect(page.locator("#job-state")).to_have_text("电子社保卡已签发，制卡完成")
    journal = page.locator("table.journal")
    expect(journal).to_contain_text("暂停")
    expect(journal).to_contain_text("继续")
    expect(page.locator("#face-preview")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True and page.url == job_url
    assert int(page.evaluate("document.body.dataset.liveUpdates")) >= 3
    seen.append(job_state(page))
    assert seen[-1] == "ecard_issued" and len(set(seen)) >= 3, seen  # three states at least, one page
    page.locator("#face-preview").scroll_into_view_if_needed()
    console.shot(page, "job-done", full_page=True)
    prints = list((console.out / "SIM1" / "prints").glob("*.png"))
    assert len(prints) == 1  # one face printed, by the simulated printer

    page.click("text=即时制卡")
    expect(page.locator("#simulator-panel")).to_contain_text("打印机模拟器")
    console.shot(page, "issuance", full_page=True)
    page.click("text=库存与复核")
    expect(page.locator("#reconciled")).to_contain_text("账实相符")
    console.shot(page, "stock", full_page=True)
    page.click("text=卡片业务")
    page.fill("#card-key", SAMPLE["ssn"])
    page.click("#find-card")
    expect(page.locator("#card-state")).to_have_attribute("data-state", "activated")
    console.shot(page, "card", full_page=True)
    page.click("#lang-switch")
    expect(page.locator("#card-state")).to_have_text("activated")
    page.click("#lang-switch")

    # another outlet's operator: the job is not in their queue, and its address is refused
    other = sign_in(browser, console, "chen.gang")
    other.click("text=即时制卡")
    expect(other.locator("h1")).to_contain_text("NN09")
    expect(other.locator("#queue-empty")).to_be_visible()
    expect(other.locator("#simulator-panel")).to_have_count(0)
    response = other.goto(job_url)
    assert response is not None and response.status == 403
    expect(other.locator("#refusal")).to_contain_text("只能在本网点（NN09）办理业务")

    supervisor = sign_in(browser, console, "zhao.min", mistype=True)
    supervisor.goto(console.base + "/console/audit?action=instant.")
    expect(supervisor.locator("#audit-entries")).to_contain_text("instant.done")
    console.shot(supervisor, "audit", full_page=True)
    supervisor.goto(console.base + "/console/audit?action=console.&verify=1")
    entries = supervisor.locator("#audit-entries")
    expect(entries.locator("tr", has_text="console.sign_in_failed")).to_contain_text("operator:zhao.min")
    expect(entries.locator("tr", has_text="console.sign_in_failed")).not_to_contain_text(PASSWORD)
    expect(entries.locator("tr", has_text="wang.li")).to_contain_text("console.sign_in")
    expect(supervisor.locator("#audit-intact")).to_be_visible()
    supervisor.click("#sign-out")
    expect(supervisor.locator(".flash.ok")).to_contain_text("已退出登录")
    supervisor.goto(console.base + "/console/audit")
    expect(supervisor.locator("h1")).to_have_text("工作人员登录")
