"""Locust user for the delivery load benchmark: one simulated participant sitting one test.

Run through ``benchmarks/load_delivery.py``, which seeds the database, starts gunicorn, runs this
file headless and checks the database afterwards. It reads its settings from the JSON file named by
``BENCH_CONFIG`` (written by the driver) and writes everything it saw to ``results`` in that file
when the test stops.

Each user behaves like a browser with ``static/js/attempt.js``:

1. GET the sign-in page, POST NIP + password with the form's CSRF token;
2. GET my assessments, GET the wave's start page, POST the consent form;
3. on every question page: answer each item through the JSON autosave API
   (``POST /api/attempts/<id>/answers`` with ``X-CSRFToken`` from the page's meta tag), after a
   think time per item; sometimes change an answer (a second save with seq + 1); poll the clock
   once a minute like the page does; then POST the page's form (which, like a browser, carries the
   choices and the last sequence numbers, so the server re-saves them with seq + 1);
4. POST each section review, POST the confirm page, GET the finished page.

Every save the user sends is recorded (item, seq, displayed choice), and so is every
acknowledgement it receives; the driver checks them against the ``responses`` table. A fraction of
users (``p_retry_user``) also send saves twice: the same body again after the acknowledgement, or
both copies at once (each must be acknowledged as ``saved`` with the same seq), and after changing
an answer the older save again (it must be acknowledged as ``stale`` with the newer seq and must
not overwrite it). On a share of pages (``p_race``) the last answer's autosave is still in flight
when the page's form is posted, as after a quick click.

Failed saves (5xx, connection errors) are retried with backoff, as the page's offline queue does.
"""
from __future__ import annotations

import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

CONFIG: dict = {}
if os.environ.get("BENCH_CONFIG"):
    with open(os.environ["BENCH_CONFIG"], encoding="utf-8") as fh:
        CONFIG = json.load(fh)

SCALE = float(CONFIG.get("think_scale", 1.0))
ITEM_THINK = tuple(CONFIG.get("item_think", (2.0, 8.0)))
P_CHANGE = float(CONFIG.get("p_change", 0.15))
P_RETRY_USER = float(CONFIG.get("p_retry_user", 0.2))
P_RETRY_SAVE = float(CONFIG.get("p_retry_save", 0.3))
P_RACE = float(CONFIG.get("p_race", 0.3))
CLOCK_EVERY = float(CONFIG.get("clock_every", 60.0))
PARTICIPANTS: list[str] = list(CONFIG.get("participants", []))
PASSWORD: str = CONFIG.get("password", "")
N_USERS = int(CONFIG.get("users", len(PARTICIPANTS)))
SAVE_RETRIES = 6

SAVE_NAME = "/api/attempts/[id]/answers"

# ------------------------------------------------------------------------------- shared state
# One locust process, gevent: plain module globals are safe (no preemption between statements).
STATE = {
    "next": 0,
    "finished": 0,
    "t0": time.time(),
    "spawned_at": None,
    "users": [],
    "samples": defaultdict(list),  # "METHOD name" -> [[t_end, ms, ok, status], ...]
    "errors": Counter(),
    "violations": [],
    "written": False,
}


def _norm(path: str) -> str:
    return re.sub(r"/\d+", "/[id]", path.split("?")[0])


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, exception=None, response=None,
                **kwargs):
    status = getattr(response, "status_code", 0) or 0
    STATE["samples"][f"{request_type} {name}"].append(
        [round(time.time(), 3), round(response_time, 2), exception is None, status])
    if exception is not None:
        STATE["errors"][f"{request_type} {name}: {exception}"] += 1


@events.spawning_complete.add_listener
def _on_spawned(user_count, **kwargs):
    if STATE["spawned_at"] is None:
        STATE["spawned_at"] = time.time()


@events.test_start.add_listener
def _on_start(environment, **kwargs):
    STATE["t0"] = time.time()


@events.test_stop.add_listener
def _on_stop(environment, **kwargs):
    _write_results()


@events.quitting.add_listener
def _on_quit(environment, **kwargs):
    _write_results()


def _write_results() -> None:
    path = CONFIG.get("results")
    if not path or STATE["written"]:
        return
    STATE["written"] = True
    out = {
        "t0": STATE["t0"], "t_end": time.time(), "spawned_at": STATE["spawned_at"],
        "users": STATE["users"], "samples": STATE["samples"], "errors": dict(STATE["errors"]),
        "violations": STATE["violations"], "cpu_s": sum(os.times()[:2]),
    }
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------- page parsing
RE_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
RE_FORM_CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
RE_VALUE = re.compile(r'value="([^"]*)"')
RE_FIELDSET = re.compile(r'<fieldset[^>]*\bdata-item="(\d+)"[^>]*\bdata-seq="(\d+)"([^>]*)>')
RE_RADIO = re.compile(r'<input[^>]*type="radio"[^>]*name="choice-(\d+)"[^>]*value="(\d+)"')
RE_ACTION = re.compile(r'<button[^>]*name="action"[^>]*value="([^"]+)"')
RE_SAVE_URL = re.compile(r'data-save-url="([^"]+)"')
RE_CLOCK_URL = re.compile(r'data-clock-url="([^"]+)"')
RE_START = re.compile(r'href="(/me/waves/\d+/start)"')
RE_CONTINUE = re.compile(r'href="(/me/attempts/\d+)"')
RE_ATTEMPT = re.compile(r"/me/attempts/(\d+)")
RE_QUESTION = re.compile(r"^/me/attempts/(\d+)/s/(\d+)/q/(\d+)$")
RE_REVIEW = re.compile(r"^/me/attempts/(\d+)/s/(\d+)/review$")


def form_csrf(html: str) -> str:
    tag = RE_FORM_CSRF.search(html)
    if tag is None:
        return ""
    value = RE_VALUE.search(tag.group(0))
    return value.group(1) if value else ""


def connection_error(resp) -> str:
    """A failure message for a request that got no HTTP answer, without ports or addresses."""
    error = getattr(resp, "error", None)
    text = re.sub(r"(port=|:)\d+|0x[0-9a-f]+", "", str(error))[:120]
    return f"connection error: {type(error).__name__}: {text}"


class FlowError(Exception):
    """The page was not what a browser would have got: stop this participant."""


class Participant(HttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        index = STATE["next"]
        STATE["next"] += 1
        if index >= len(PARTICIPANTS):
            raise StopUser()
        self.rng = random.Random(index * 7919 + 17)
        self.record = {
            "nip": PARTICIPANTS[index], "attempt": None, "stage": "start", "finished": False,
            "retry_user": self.rng.random() < P_RETRY_USER,
            "sent": [],   # [item, seq, displayed, kind]   every save sent (api or form)
            "acks": [],   # [item, sent_seq, ack_seq, status, kind]   acknowledged saves
            "started_at": time.time(), "finished_at": None,
        }
        STATE["users"].append(self.record)
        self.csrf = ""
        self.save_url = ""
        self.clock_url = ""
        self.last_clock = time.time()

    # ---------------------------------------------------------------------------- helpers
    def think(self, low: float, high: float) -> None:
        """Sleep like a reader, polling the clock once a minute as the test page does."""
        end = time.time() + self.rng.uniform(low, high) * SCALE
        while True:
            now = time.time()
            if self.clock_url and now - self.last_clock >= CLOCK_EVERY:
                self.last_clock = now
                self.client.get(self.clock_url, name=_norm(self.clock_url),
                                headers={"Accept": "application/json"})
                continue
            left = end - now
            if left <= 0:
                return
            wait = left if not self.clock_url else min(left, max(0.05, self.last_clock + CLOCK_EVERY - now))
            gevent.sleep(wait)

    def request(self, method: str, path: str, expect=(200,), **kw):
        """One HTTP exchange (no automatic redirects), named by its path pattern.

        A connection error is retried once, as a browser does with a stale keep-alive socket.
        """
        name = f"{method} {_norm(path)}"
        for attempt in range(2):
            with self.client.request(method, path, name=_norm(path), allow_redirects=False,
                                     catch_response=True, **kw) as resp:
                if resp.status_code == 0 and attempt == 0:
                    resp.failure(connection_error(resp))
                    gevent.sleep(0.5)
                    continue
                if resp.status_code not in expect:
                    resp.failure(f"HTTP {resp.status_code}")
                    raise FlowError(f"{name} answered {resp.status_code}")
                resp.success()
                return resp
        raise FlowError(f"{name}: connection error")

    def follow(self, resp):
        """Follow redirects one GET at a time, so each page is measured on its own."""
        hops = 0
        while resp.status_code in (301, 302, 303):
            hops += 1
            if hops > 6:
                raise FlowError("redirect loop")
            location = urlsplit(resp.headers["Location"])
            path = location.path + (f"?{location.query}" if location.query else "")
            resp = self.request("GET", path, expect=(200, 302))
            resp.path = location.path
        if not hasattr(resp, "path"):
            resp.path = urlsplit(resp.url).path
        return resp

    # ---------------------------------------------------------------------------- the sitting
    @task
    def sit(self) -> None:
        try:
            self.sign_in()
            page = self.start_test()
            for _ in range(400):
                path = page.path
                if RE_QUESTION.match(path):
                    page = self.question_page(page)
                elif RE_REVIEW.match(path):
                    page = self.review_page(page)
                elif path.endswith("/confirm"):
                    page = self.confirm_page(page)
                elif path.endswith("/finished"):
                    self.record["stage"] = "finished"
                    self.record["finished"] = True
                    self.record["finished_at"] = time.time()
                    break
                else:
                    raise FlowError(f"unexpected page {_norm(path)}")
        except FlowError as error:
            self.record["error"] = str(error)
        finally:
            STATE["finished"] += 1
            if STATE["finished"] >= min(N_USERS, len(PARTICIPANTS)):
                # Everyone is done: end the run now instead of waiting for --run-time.
                gevent.spawn_later(1.0, self.environment.runner.quit)
        raise StopUser()

    def sign_in(self) -> None:
        self.record["stage"] = "sign_in"
        page = self.request("GET", "/auth/login")
        self.think(3, 8)  # typing NIP and password
        resp = self.request("POST", "/auth/login", expect=(302,), data={
            "csrf_token": form_csrf(page.text), "nip": self.record["nip"], "password": PASSWORD})
        home = self.follow(resp)
        if not home.path.startswith("/me"):
            raise FlowError(f"sign-in landed on {home.path}")
        self.home = home

    def start_test(self):
        self.record["stage"] = "start"
        self.think(1, 3)
        match = RE_START.search(self.home.text) or RE_CONTINUE.search(self.home.text)
        if match is None:
            raise FlowError("no open assessment on my assessments")
        page = self.follow(self.request("GET", match.group(1), expect=(200, 302)))
        if RE_ATTEMPT.match(page.path):  # continuing an attempt already started
            return page
        self.think(5, 15)  # reading the instructions
        resp = self.request("POST", match.group(1), expect=(302,), data={
            "csrf_token": form_csrf(page.text), "consent": "y"})
        page = self.follow(resp)
        found = RE_ATTEMPT.match(page.path)
        if found is None:
            raise FlowError(f"start landed on {page.path}")
        self.record["attempt"] = int(found.group(1))
        return page

    def save(self, answers: list[dict], kind: str) -> list[dict]:
        """POST answers to the autosave API; retry 5xx / connection errors with backoff."""
        for answer in answers:
            self.record["sent"].append([answer["item"], answer["seq"], answer["choice"], kind])
        delay = 1.0
        for _ in range(SAVE_RETRIES):
            with self.client.post(self.save_url, json={"answers": answers}, name=SAVE_NAME,
                                  headers={"X-CSRFToken": self.csrf, "Accept": "application/json"},
                                  catch_response=True) as resp:
                if resp.status_code == 200:
                    try:
                        acks = resp.json()["acks"]
                    except (ValueError, KeyError):
                        resp.failure("200 without acks")
                        raise FlowError("save answered 200 without acks") from None
                    resp.success()
                    for ack in acks:
                        sent = next(a for a in answers if a["item"] == ack["item"])
                        self.record["acks"].append([ack["item"], sent["seq"], ack["seq"], ack["status"], kind])
                    return acks
                code = ""
                try:
                    code = resp.json().get("error", "")
                except ValueError:
                    pass
                resp.failure(f"HTTP {resp.status_code} {code}".strip() if resp.status_code else
                             connection_error(resp))
                if resp.status_code and resp.status_code < 500 and resp.status_code != 429:
                    raise FlowError(f"save refused: {resp.status_code} {code}")
            gevent.sleep(delay * self.rng.uniform(0.8, 1.2))
            delay = min(delay * 2, 30)
        raise FlowError("save failed after retries")

    def save_answer(self, answer: dict) -> None:
        """Autosave one answer; retry users sometimes send it twice (in a row or at once)."""
        if not (self.record["retry_user"] and self.rng.random() < P_RETRY_SAVE):
            self.save([answer], "api")
            return
        if self.rng.random() < 0.5:
            # A lost response retried, or a double click: sent again after the acknowledgement.
            self.save([answer], "api")
            self.check_ack(self.save([answer], "retry"), answer["item"], "saved", answer["seq"], "duplicate")
            return
        # Both copies at once: they serialise on the attempt's row lock; both are acknowledged.
        first = gevent.spawn(self.save, [answer], "api")
        second = gevent.spawn(self.save, [answer], "retry")
        gevent.joinall([first, second])
        self.check_ack(first.get(), answer["item"], "saved", answer["seq"], "concurrent duplicate")
        self.check_ack(second.get(), answer["item"], "saved", answer["seq"], "concurrent duplicate")

    def check_ack(self, acks, item: int, status: str, seq: int, what: str) -> None:
        ack = next((a for a in acks if a["item"] == item), None)
        if ack is None or ack["status"] != status or ack["seq"] != seq:
            STATE["violations"].append({"nip": self.record["nip"], "attempt": self.record["attempt"],
                                        "check": what, "item": item, "expected": [status, seq],
                                        "got": ack})

    def question_page(self, page):
        self.record["stage"] = "questions"
        html = page.text
        self.csrf = RE_META_CSRF.search(html).group(1)
        self.save_url = RE_SAVE_URL.search(html).group(1)
        self.clock_url = RE_CLOCK_URL.search(html).group(1)
        options = Counter(int(item) for item, _ in RE_RADIO.findall(html))
        items = [(int(i), int(seq), "disabled" in rest) for i, seq, rest in RE_FIELDSET.findall(html)]
        actions = [a for a in RE_ACTION.findall(html) if not a.startswith("goto-") and a != "prev"]
        if not items or not actions:
            raise FlowError("question page without items or buttons")
        shown = time.time()
        todo = [(item, seq) for item, seq, disabled in items
                if not disabled and seq == 0 and options[item] > 0]  # else locked or answered before
        # A quick click: the last answer's autosave is still in flight when the form is posted.
        racing = bool(todo) and self.rng.random() < P_RACE
        last: dict[int, tuple[int, int]] = {}  # item -> (seq, displayed)
        pending = None
        for n, (item, seq) in enumerate(todo):
            self.think(*ITEM_THINK)
            choice = self.rng.randrange(options[item])
            seq += 1
            answer = {"item": item, "choice": choice, "seq": seq,
                      "elapsed_ms": int((time.time() - shown) * 1000)}
            last[item] = (seq, choice)
            if racing and n == len(todo) - 1:
                pending = answer
                break
            self.save_answer(answer)
            if options[item] > 1 and self.rng.random() < P_CHANGE:
                self.think(1, 3)
                old = answer
                choice = (choice + 1 + self.rng.randrange(options[item] - 1)) % options[item]
                seq += 1
                answer = {"item": item, "choice": choice, "seq": seq,
                          "elapsed_ms": int((time.time() - shown) * 1000)}
                self.save_answer(answer)
                last[item] = (seq, choice)
                if self.record["retry_user"] and self.rng.random() < P_RETRY_SAVE:
                    # The older save arrives late: it must not overwrite the newer answer.
                    self.check_ack(self.save([old], "retry"), item, "stale", seq, "reordered")
        # The page's own form: a browser submits the checked radios and the last seqs, and the
        # server re-saves them with seq + 1 before moving on.
        data = {"csrf_token": form_csrf(html), "action": actions[0]}
        for item, (seq, choice) in last.items():
            data[f"seq-{item}"] = str(seq)
            data[f"choice-{item}"] = str(choice)
        for item, (seq, choice) in last.items():
            self.record["sent"].append([item, seq + 1, choice, "form"])
        if pending is not None:
            self.think(0.2, 0.6)
            racer = gevent.spawn(self.save, [pending], "race")
        s_q = RE_QUESTION.match(page.path).groups()
        resp = self.request("POST", page.path, expect=(302,), data=data)
        nxt = self.follow(resp)
        if pending is not None:
            racer.join()
            racer.get()  # a FlowError of the racing save stops this participant too
        # Saved and moved on: the next page is another one, and no warning was flashed (a refused
        # form goes back to the same question with a warning).
        next_q = RE_QUESTION.match(nxt.path)
        moved = (next_q is None or next_q.groups() != s_q) and 'class="alert alert-warning"' not in nxt.text
        if moved:
            for item, (seq, choice) in last.items():
                self.record["acks"].append([item, seq + 1, seq + 1, "saved", "form"])
        else:
            STATE["errors"]["POST question form: refused (back on the same question)"] += 1
        return nxt

    def review_page(self, page):
        self.record["stage"] = "review"
        self.think(2, 5)
        resp = self.request("POST", page.path, expect=(302,), data={"csrf_token": form_csrf(page.text)})
        return self.follow(resp)

    def confirm_page(self, page):
        self.record["stage"] = "confirm"
        self.think(1, 3)
        resp = self.request("POST", page.path, expect=(302,), data={"csrf_token": form_csrf(page.text)})
        return self.follow(resp)
