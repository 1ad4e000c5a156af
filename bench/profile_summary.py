"""What py-spy's collapsed stacks of a worker say: where its CPU time goes, ranked."""

from __future__ import annotations

import functools
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config import ROOT

CATEGORIES = (  # first match of the leaf frame's file wins
    ("bcrypt", ("bcrypt",)),
    ("sqlite (aiosqlite thread)", ("aiosqlite", "sqlite3", "sqlite_driver.py")),
    ("asyncpg", ("asyncpg",)),
    ("SQLAlchemy", ("sqlalchemy",)),
    ("JWT / cryptography", ("jwt/", "cryptography")),
    ("pydantic", ("pydantic",)),
    ("FastAPI", ("fastapi/",)),
    ("Starlette", ("starlette/",)),
    ("structlog / logging", ("structlog", "logging/")),
    ("prometheus_client", ("prometheus_client",)),
    ("dependency_injector", ("dependency_injector",)),
    ("uvicorn / httptools", ("uvicorn/", "httptools")),
    ("asyncio / uvloop", ("asyncio/", "uvloop")),
    ("json", ("json/",)),
    ("Portcullis code", ("/domain/", "/application/", "/adapters/", "/entrypoints/")),
)


def _category(frame: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in frame for needle in needles):
            return name
    return "other"


def _function(frame: str) -> str:
    # "name (path/to/file.py:123)" -> "name (file.py)"; paths shortened to the package.
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    name, path = match.groups()
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path.removeprefix(str(ROOT) + '/')})"


_WAIT_LINE = re.compile(r"\.get\(|\.wait\(|\.acquire\(|\.join\(|\.select\(")


@functools.cache
def _source_line(short_path: str, line: int) -> str:
    """The text of a frame's line; py-spy names files relative to site-packages or the stdlib."""
    for directory in (ROOT, *map(Path, sys.path)):
        candidate = Path(directory) / short_path
        if candidate.is_file():
            lines = candidate.read_text(errors="replace").splitlines()
            return lines[line - 1] if 0 < line <= len(lines) else ""
    return ""


def _is_wait(frame: str) -> bool:
    """A leaf frame that is a thread blocked on a queue or lock. py-spy does not always tell
    those apart from running threads here (in its --nonblocking mode, and for threads that
    come and go): their samples are left out."""
    match = re.match(r".* \((.*?):(\d+)\)$", frame)
    if match is None:
        return False
    return _WAIT_LINE.search(_source_line(match[1], int(match[2]))) is not None


def _thread_kind(root: str) -> str:
    # "thread (2178): Thread-10 (_connection_worker_thread)" -> "_connection_worker_thread"
    name = root.split(": ", 1)[-1]
    inner = re.search(r"\((.*)\)$", name)
    return inner[1] if inner else name


# Where a sample's time goes: its frames are read from the innermost outwards and the first
# that matches names the cost (so a library call made by our middleware counts as the
# middleware's unless the library is named here itself). Order within the list does not matter;
# order along the stack does.
COMPONENTS = (
    ("ECAlgorithm.verify (", "JWT: ECDSA signature check (cryptography)"),
    ("jwt/", "JWT: PyJWT decoding and claims, besides the signature"),
    ("jwt_access_tokens.py", "JWT: our token adapter"),
    ("aiosqlite/", "database driver: aiosqlite, event-loop side (hand-offs to its thread)"),
    ("asyncpg/", "database driver: asyncpg"),
    ("sqlalchemy/", "SQLAlchemy (statement compile/cache, execution, pool, greenlet bridge)"),
    ("adapters/persistence/", "our repositories and unit of work (row mapping)"),
    ("serialize_response (", "FastAPI response validation + serialization (pydantic)"),
    ("_prepare_response_content (", "FastAPI response validation + serialization (pydantic)"),
    ("request_body_to_args (", "FastAPI request body validation (pydantic)"),
    ("pydantic", "pydantic, elsewhere"),
    ("solve_dependencies (", "FastAPI dependency injection (its own work)"),
    ("fastapi/", "FastAPI routing, middleware and request/response plumbing"),
    ("starlette/", "Starlette (routing, Request, Response, exception middleware)"),
    ("structlog/", "logging (structlog)"),
    ("logging/", "logging (structlog)"),
    ("prometheus_client/", "metrics (prometheus_client)"),
    ("entrypoints/http/middleware.py", "our middleware (request id, security headers, metrics)"),
    ("entrypoints/http/", "our routers and dependencies"),
    ("entrypoints/container.py", "dependency_injector container"),
    ("dependency_injector", "dependency_injector container"),
    ("application/", "use cases (application/)"),
    ("domain/", "domain objects"),
    ("uvicorn/", "uvicorn HTTP protocol (httptools parsing, transport writes)"),
    ("asyncio/", "event loop (uvloop, C: polling, scheduling, socket I/O; and wake-ups)"),
    ("(no Python frame)", "event loop (uvloop, C: polling, scheduling, socket I/O; and wake-ups)"),
)


@dataclass(frozen=True)
class Sample:
    """A stack py-spy saw `count` times: the kind of thread, then its frames, outermost first."""

    thread: str
    frames: tuple[str, ...]
    count: int


def _component(sample: Sample) -> str:
    if sample.thread.endswith("_connection_worker_thread"):
        return "SQLite itself (aiosqlite's threads)"
    if sample.thread != "MainThread":
        return f"thread {sample.thread}"
    for frame in reversed(sample.frames):
        for marker, name in COMPONENTS:
            if marker in frame:
                return name
    return "other"


def _read_samples(collapsed: Path) -> tuple[list[Sample], int]:
    """(the samples of running code, how many samples were of threads waiting)."""
    samples: list[Sample] = []
    waiting = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        root, *frames = stack.split(";")
        if frames and _is_wait(frames[-1]):
            waiting += int(count)
            continue
        # A sample with no Python frame at all: the thread was in C code (uvloop, say).
        samples.append(
            Sample(_thread_kind(root), tuple(frames or ["(no Python frame)"]), int(count))
        )
    return samples, waiting


def _shares(counts: Counter[str], whole: int, top: int | None = None) -> list[str]:
    return [f"  {c / whole:6.1%}  {name}" for name, c in counts.most_common(top)]


def _count(samples: list[Sample], key: Callable[[Sample], str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for sample in samples:
        counts[key(sample)] += sample.count
    return counts


def _section(title: str, samples: list[Sample], total: int, top: int, inclusive: bool) -> list[str]:
    part = sum(sample.count for sample in samples) or 1
    own = _count(samples, lambda sample: _function(sample.frames[-1]))
    out = [
        f"\n== {title}: {part / total:.1%} of the samples; shares below are of these",
        "by library of the innermost Python frame:",
        *_shares(_count(samples, lambda sample: _category(sample.frames[-1])), part),
        f"top {top} functions by own time:",
        *_shares(own, part, top),
    ]
    if inclusive:
        within: Counter[str] = Counter()
        for sample in samples:
            for function in {_function(frame) for frame in sample.frames}:
                within[function] += sample.count
        out += [f"top {top * 3} functions by inclusive time:", *_shares(within, part, top * 3)]
    return out


def summarise_profile(collapsed: Path, top: int = 15) -> str:
    samples, waiting = _read_samples(collapsed)
    total = sum(sample.count for sample in samples) or 1
    threads = _count(samples, lambda sample: sample.thread)
    main_thread = [sample for sample in samples if sample.thread == "MainThread"]
    return "\n".join(
        [
            f"{total} samples of running code (and {waiting} of threads waiting on a queue or a "
            "lock, left out)",
            "by thread: " + ", ".join(f"{t} {c / total:.1%}" for t, c in threads.most_common()),
            "\n== where the time goes, innermost named cost of each sample:",
            *_shares(_count(samples, _component), total),
            *_section("all threads", samples, total, top, inclusive=False),
            *_section("the event loop's thread", main_thread, total, top, inclusive=True),
        ]
    )
