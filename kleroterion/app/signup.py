"""The public sign-up page's use cases (issue 17): the invitee signs up with the code from their letter,
changes or withdraws the sign-up with the same code until closing; staff set the page's state and times
and read the response per group against the letters sent.

A code is found through an index of the codes' SHA-256 digests and then compared with
``hmac.compare_digest``, so how long a lookup takes says nothing about how close a guess was. An unknown
code and a used code give the same answer (``None``), so the page can only say "this code cannot be used".
Changing or withdrawing asks the postcode and house number of the letter's address besides the code:
whoever only guessed a code cannot see or touch a sign-up. The web adapter adds rate limits, CSRF, a
honeypot and a minimum fill time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import queue
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kleroterion.errors import KleroError
from kleroterion.store.signup import SignupLetter, StoredSignup
from kleroterion.workspace import KEY_FILE, PROCESS_FILE, Workspace
from sortition.bands import AGE_BANDS

STATES = ("test", "open", "closed")
#: What the invitee sees: ``test`` and ``open`` take sign-ups; ``not_yet`` and ``closed`` do not.
EFFECTIVE = ("test", "open", "not_yet", "closed")
CONTACT_FIELDS = ("naam", "email", "telefoon")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()-]{8,20}$")
POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
CODE_TEXT = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True)
class PageSettings:
    """The page's state, opening and closing times (UTC) and what the process is about, per language."""

    state: str = "closed"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    about_nl: str = ""
    about_en: str = ""
    #: A panel or lottery has been drawn from the pool: the pool is frozen, the page takes nothing more.
    drawn: bool = False

    def effective(self, now: datetime | None = None) -> str:
        """``test`` (times do not apply), ``open``, ``not_yet`` (before opening) or ``closed`` (also once
        the pool has been drawn from, whatever the state says)."""
        now = now or datetime.now(UTC)
        if self.drawn:
            return "closed"
        if self.state == "test":
            return "test"
        if self.state != "open" or (self.closes_at is not None and now >= self.closes_at):
            return "closed"
        if self.opens_at is not None and now < self.opens_at:
            return "not_yet"
        return "open"

    def about(self, lang: str) -> str:
        return (self.about_en if lang == "en" else self.about_nl) or self.about_nl


def page_settings(ws: Workspace) -> PageSettings:
    """The stored settings; a page never set is closed, and so is every page once the pool was drawn from."""
    stored = ws.store.signup_settings()
    if stored is None:
        return PageSettings()
    return PageSettings(
        state=str(stored["state"]),
        opens_at=_moment(stored["opens_at"]),
        closes_at=_moment(stored["closes_at"]),
        about_nl=str(stored["about_nl"]),
        about_en=str(stored["about_en"]),
        drawn=ws.store.pool_drawn_from(),
    )


def _moment(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def save_page_settings(ws: Workspace, settings: PageSettings) -> int:
    """Store the page's state and times (audited); opening it empties the test pool. Returns the number of
    test sign-ups removed. A closing time before the opening time, or a page opened without letters, is refused."""
    if settings.state not in STATES:
        raise KleroError(f"Unknown state {settings.state!r}: use test, open or closed.", code="bad_signup_state")
    if settings.opens_at and settings.closes_at and settings.closes_at <= settings.opens_at:
        raise KleroError("The closing time must be after the opening time.", code="bad_signup_times")
    if settings.state != "closed" and not ws.store.letter_draw_marker():
        raise KleroError(
            "There are no letters yet: draw the letters (`klero letters draw`) before opening the sign-up page.",
            code="no_letters",
        )
    return ws.store.save_signup_settings(
        state=settings.state,
        opens_at=settings.opens_at.astimezone(UTC).isoformat(timespec="seconds") if settings.opens_at else None,
        closes_at=settings.closes_at.astimezone(UTC).isoformat(timespec="seconds") if settings.closes_at else None,
        about_nl=settings.about_nl.strip(),
        about_en=settings.about_en.strip(),
    )


# -- codes -------------------------------------------------------------------------------------
def normalise_code(text: str) -> str:
    """A typed code as stored: upper case, ``ABCDE-FGHJK-C``, whatever spaces or dashes were typed."""
    bare = CODE_TEXT.sub("", text.upper())
    return f"{bare[:5]}-{bare[5:10]}-{bare[10:]}" if len(bare) == 11 else bare


def _digest(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8")).digest()


class CodeBook:
    """The invitation codes of each workspace by SHA-256 digest, rebuilt when a new wave of letters is
    stored. ``find`` hashes the typed code, looks the digest up and compares the code found with
    ``hmac.compare_digest``: the time taken does not depend on how many characters of a guess are right."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[Path, tuple[str, dict[bytes, str]]] = {}

    def find(self, ws: Workspace, typed: str) -> str | None:
        code = normalise_code(typed)
        marker = ws.store.letter_draw_marker()
        with self._lock:
            book = self._books.get(ws.root)
        if book is None or book[0] != marker:
            marker, codes = ws.store.letter_codes()
            book = (marker, {_digest(c): c for c in codes})
            with self._lock:
                self._books[ws.root] = book
        found = book[1].get(_digest(code), "")
        return found if found and hmac.compare_digest(found.encode(), code.encode()) else None


CODES = CodeBook()


def open_letter(ws: Workspace, typed: str, *, test: bool) -> SignupLetter | None:
    """The letter of a code that may still sign up; ``None`` for an unknown, used or withdrawn code alike."""
    code = CODES.find(ws, typed)
    # an unknown code asks the store the same question as a known one: the answer takes as long
    state = ws.store.code_state(code or normalise_code(typed)[:20], test=test)
    if code is None or state != "free":
        return None
    return ws.store.signup_letter(code)


def own_signup(
    ws: Workspace, typed: str, postcode: str, house_number: str, *, test: bool
) -> tuple[SignupLetter, StoredSignup] | None:
    """The sign-up of a code, when the postcode and house number are those of its letter; ``None`` for
    anything else (unknown code, no sign-up, another address) alike."""
    code = CODES.find(ws, typed)
    letter = ws.store.signup_letter(code) if code is not None else None
    if letter is None:
        return None
    same = hmac.compare_digest(_postcode(letter.postcode).encode(), _postcode(postcode).encode()) & hmac.compare_digest(
        _house(letter.house_number).encode(), _house(house_number).encode()
    )
    stored = ws.store.stored_signup(letter.code, test=test)
    return (letter, stored) if same and stored is not None else None


def _postcode(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def _house(text: str) -> str:
    return re.sub(r"\D", "", text)


class _Writers:
    """One lock per workspace for the page's corrections and withdrawals in this server process, so that
    they queue here rather than in SQLite's busy handler (which sleeps up to 100 ms between tries)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Path, threading.Lock] = {}

    def __call__(self, ws: Workspace) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(ws.root.resolve(), threading.Lock())


WRITERS = _Writers()


@dataclass
class _Pending:
    item: tuple[str, SignupLetter, dict[str, str], dict[str, str], bool]
    done: threading.Event = field(default_factory=threading.Event)
    stored: bool = False
    error: BaseException | None = None


#: Seconds a sign-up writer thread waits for work before it closes its connection and ends.
WRITER_IDLE = 30.0


class _SignupWriter:
    """Group commit: one writer thread per workspace takes every sign-up waiting and stores them in one
    transaction (``Store.add_signups``), so a burst costs one disk flush per batch instead of one per
    sign-up, with durability unchanged (``synchronous = FULL``). Each request waits for its own result."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._queues: dict[Path, queue.Queue[_Pending]] = {}

    def store(self, ws: Workspace, item: tuple[str, SignupLetter, dict[str, str], dict[str, str], bool]) -> bool:
        root = ws.root.resolve()
        pending = _Pending(item)
        with self._guard:  # put under the guard: a writer thread leaving when idle never misses a sign-up
            waiting = self._queues.get(root)
            if waiting is None:
                waiting = self._queues[root] = queue.Queue()
                actor = ws.store.actor
                threading.Thread(
                    target=self._run, args=(root, waiting, actor), daemon=True, name=f"klero-signups-{root.name}"
                ).start()
            waiting.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.stored

    def _leave_if_idle(self, root: Path, waiting: queue.Queue[_Pending], ws: Workspace | None) -> bool:
        """Idle: close the connection and leave (True); the next sign-up starts a new writer thread."""
        with self._guard:
            if not waiting.empty():
                return False
            del self._queues[root]
        if ws is not None:
            ws.store.close()
        return True

    def _run(self, root: Path, waiting: queue.Queue[_Pending], actor: str) -> None:
        ws: Workspace | None = None
        identity: object = None
        while True:
            try:
                first = waiting.get(timeout=WRITER_IDLE)
            except queue.Empty:
                if self._leave_if_idle(root, waiting, ws):
                    return
                continue
            batch = [first]
            while len(batch) < 500:
                try:
                    batch.append(waiting.get_nowait())
                except queue.Empty:
                    break
            try:
                if ws is not None and not same_database(ws, identity):
                    ws.store.close()
                    ws = None
                if ws is None:
                    ws, identity = open_long_lived(root, actor)
                for pending, stored in zip(batch, ws.store.add_signups([p.item for p in batch]), strict=True):
                    pending.stored = stored
            except BaseException as exc:
                for pending in batch:
                    pending.error = exc
            finally:
                for pending in batch:
                    pending.done.set()


SIGNUPS = _SignupWriter()


def open_long_lived(root: Path, actor: str) -> tuple[Workspace, object]:
    """A workspace kept open across requests, with the identity of its database (see ``same_database``)."""
    ws = Workspace.open(root)
    ws.store.actor = actor
    return ws, _database_identity(ws)  # None (the folder changed meanwhile): the next use opens it again


def same_database(ws: Workspace, identity: object) -> bool:
    """True while the database ``ws`` opened (``identity``) is still the workspace's database, not removed
    or replaced by a new workspace in the same folder: a long-lived connection checks before each use."""
    return identity is not None and _database_identity(ws) == identity


def _database_identity(ws: Workspace) -> object:
    """What tells the workspace's database apart from one a replaced folder names (None when unreadable).

    SQLite: the inode of the database file (the open connection keeps it, so no new file can reuse it).
    PostgreSQL: the ``database_url`` in the folder's ``process.toml`` now (a new workspace gets a schema
    of its own) and the workspace key (a folder replaced by one naming the same schema still differs there)."""
    try:
        if not ws.store.schema:  # SQLite
            return ("file", os.stat(ws.store.path).st_ino)
        data = tomllib.loads((ws.root / PROCESS_FILE).read_text(encoding="utf-8"))
        url = str(data.get("process", {}).get("database_url", ""))
        key = (ws.root / KEY_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    return ("url", url, hashlib.sha256(key.encode()).hexdigest())


# -- the form ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One sign-up question: a declared category, in the order and words staff set."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...]  # (value, label)


def questions(ws: Workspace, lang: str) -> list[Question]:
    return [
        Question(c.name, c.label(lang), tuple((v.value, v.label(lang) or v.value) for v in c.values))
        for c in ws.signup_categories
    ]


@dataclass(frozen=True)
class CheckedForm:
    """A filled-in form: the canonical answers, the contact details, and the problems (field → reason:
    ``need_answer``, ``need_name``, ``need_contact``, ``bad_email``, ``bad_phone``, ``need_consent``)."""

    features: dict[str, str]
    contact: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def check_form(ws: Workspace, form: Mapping[str, str]) -> CheckedForm:
    """Check every answer against the process's categories and the contact details; every problem at once."""
    errors: dict[str, str] = {}
    features: dict[str, str] = {}
    for category in ws.signup_categories:
        given = form.get(f"q_{category.name}", "")
        if given not in category.allowed:
            errors[f"q_{category.name}"] = "need_answer"
        else:
            features[category.name] = given
    contact = {key: " ".join(form.get(key, "").split())[:200] for key in CONTACT_FIELDS}
    if not contact["naam"]:
        errors["naam"] = "need_name"
    if contact["email"] and not EMAIL.match(contact["email"]):
        errors["email"] = "bad_email"
    if contact["telefoon"] and not PHONE.match(contact["telefoon"]):
        errors["telefoon"] = "bad_phone"
    if not contact["email"] and not contact["telefoon"]:
        errors["email"] = "need_contact"
    if form.get("consent") != "ja":
        errors["consent"] = "need_consent"
    return CheckedForm(features, {k: v for k, v in contact.items() if v}, errors)


def sign_up(ws: Workspace, typed: str, checked: CheckedForm, *, test: bool) -> bool:
    """Store a checked sign-up in the pool (the test pool on a test page) with its letter's address.
    False when the code is unknown or was used meanwhile (of simultaneous requests one wins)."""
    from sortition.pool import person_id

    if checked.errors:
        raise KleroError("The form has problems; nothing was stored.", code="bad_signup_form")
    letter = open_letter(ws, typed, test=test)
    if letter is None:
        return False
    return SIGNUPS.store(ws, (person_id(letter.code), letter, checked.features, checked.contact, test))


def change(ws: Workspace, letter: SignupLetter, checked: CheckedForm, *, test: bool) -> bool:
    """Replace the answers and contact details of one's own sign-up (``own_signup`` found it)."""
    if checked.errors:
        raise KleroError("The form has problems; nothing was stored.", code="bad_signup_form")
    if ws.store.pool_drawn_from():
        return False
    with WRITERS(ws):
        return ws.store.update_signup(letter=letter, features=checked.features, contact=checked.contact, test=test)


def withdraw(ws: Workspace, letter: SignupLetter, *, test: bool) -> bool:
    """Take one's own sign-up out of the pool (audited without personal data); False once drawn from."""
    if not test and ws.store.pool_drawn_from():
        return False
    with WRITERS(ws):
        return ws.store.withdraw_signup(letter.code, test=test)


# -- the staff's live counts -------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseRow:
    group: str
    letters: int
    signups: int

    @property
    def rate(self) -> float | None:
        return self.signups / self.letters if self.letters else None


@dataclass(frozen=True)
class Response:
    """Letters sent and sign-ups, per wijk, age band and gender of the addressee, and in total."""

    by: dict[str, list[ResponseRow]]
    total: ResponseRow
    test_signups: int
    withdrawn: int


def age_band(birth_date: str, on: date) -> str:
    born = date.fromisoformat(birth_date[:10])
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return "<16"


def response(ws: Workspace) -> Response:
    """The response so far against the letters sent (the test pool separately)."""
    on = ws.reference_date
    tallies: dict[str, dict[str, list[int]]] = {"wijk": {}, "age_band": {}, "gender": {}}
    total = [0, 0]
    for wijk, born, gender, signed, _ in ws.store.signup_response_rows():
        keys = {"wijk": wijk or "(onbekend)", "age_band": age_band(born, on), "gender": gender}
        for dimension, key in keys.items():
            tally = tallies[dimension].setdefault(key, [0, 0])
            tally[0] += 1
            tally[1] += int(signed)
        total[0] += 1
        total[1] += int(signed)
    counts = ws.store.signup_counts()
    return Response(
        by={d: [ResponseRow(k, v[0], v[1]) for k, v in sorted(t.items())] for d, t in tallies.items()},
        total=ResponseRow("", total[0], total[1]),
        test_signups=counts["test"],
        withdrawn=counts["withdrawn"],
    )
