"""The real-size corpus: all of Debian's ``postgresql-doc-15`` and ``git-doc`` (HTML and text)
and the Linux man pages of ``manpages`` and ``manpages-dev``, nothing of it committed.

The documentation packages are installed, when missing, by the retrieval benchmark's
:func:`ensure_corpus` and copied with their times kept, so a reused home re-syncs with nothing
changed. Man pages are gzipped troff, which no parser of the app reads: each is rendered once
to the plain text ``man`` shows (groff, as man-db runs it) and kept as a ``.txt`` file. A
renderer inside the app would be a troff interpreter exposed to every file a user indexes, for
a format users rarely keep among their documents; the benchmark measures indexing and search,
and those see the same text either way.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.bench.retrieval import (
    DEFAULT_EVAL,
    DOC_ROOT,
    CorpusMissingError,
    copy_corpus,
    ensure_corpus,
    load_questions,
)

DOC_GLOBS = ("postgresql-doc-15/**/*.html", "git-doc/**/*.html", "git-doc/**/*.txt")
MAN_PACKAGES = ("manpages", "manpages-dev")
MAN_ROOT = Path("/usr/share/man")
# -t: tables; HY=0: no hyphenated words split over lines; -P-cbou: plain text, no overstrikes.
GROFF = ("groff", "-mandoc", "-t", "-Tutf8", "-rHY=0", "-P-cbou")
RENDER_TIMEOUT_S = 60
TITLE_QUERIES = 100
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def doc_files() -> list[Path]:
    """Every HTML and text page of the two documentation packages (installed when missing);
    links left out, as they repeat a page."""
    return [p for p in ensure_corpus(DOC_GLOBS) if not p.is_symlink()]


def man_sources() -> list[Path]:
    """The man pages the two packages install: gzipped troff files, not the links and ``.so``
    stubs that point at another page."""
    listed = _package_files(MAN_PACKAGES)
    if listed is None:
        _apt_install(MAN_PACKAGES)
        listed = _package_files(MAN_PACKAGES) or []
    return [p for p in listed if p.suffix == ".gz" and p.is_relative_to(MAN_ROOT)
            and p.is_file() and not p.is_symlink() and not _is_stub(p)]


def _package_files(packages: Sequence[str]) -> list[Path] | None:
    """What dpkg says the packages installed, or None when one of them is not installed."""
    if shutil.which("dpkg") is None:
        return None
    done = subprocess.run(["dpkg", "-L", *packages], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        return None
    return sorted(Path(line) for line in done.stdout.splitlines() if line.startswith("/"))


def _apt_install(packages: Sequence[str]) -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise CorpusMissingError("The real-size benchmark reads the Linux man pages, which are "
                                 f"not installed: sudo apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "-qq", *packages], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CorpusMissingError(f"Installing {' '.join(packages)} failed: "
                                 f"{done.stderr.strip()[-400:]}")


def _is_stub(page: Path) -> bool:
    """Whether a man page only sources another one (``.so man3/other.3``)."""
    lines = [line for line in gzip.decompress(page.read_bytes()).splitlines()
             if line.strip() and not line.startswith(b'.\\"')]
    return len(lines) <= 2 and any(line.startswith(b".so ") for line in lines)


def render_man_page(page: Path) -> str:
    """A man page as ``man`` prints it, as plain text."""
    if shutil.which("groff") is None:
        raise CorpusMissingError("Rendering man pages needs groff: sudo apt-get install "
                                 "groff-base")
    done = subprocess.run(GROFF, input=gzip.decompress(page.read_bytes()), capture_output=True,
                          timeout=RENDER_TIMEOUT_S, check=False)
    return done.stdout.decode("utf-8", errors="replace")


def spread(items: Sequence[Path], limit: int | None) -> list[Path]:
    """``limit`` items taken at even steps through ``items`` (all of them without a limit), so
    that a subset mixes every package as the whole does."""
    if limit is None or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]


def prepare_corpus(folder: Path, limit: int | None = None,
                   cancel: threading.Event | None = None) -> list[Path]:
    """Fill ``folder`` with the corpus (``limit`` files of it, spread over the packages) and
    remove what is not part of it; returns the files. Pages copied or rendered by an earlier
    run are kept as they are."""
    docs = doc_files()
    chosen = spread(sorted([*docs, *man_sources()]), limit)
    doc_set = set(docs)
    copy_corpus([p for p in chosen if p in doc_set], folder / "doc", DOC_ROOT)
    wanted = {folder / "doc" / p.relative_to(DOC_ROOT) for p in chosen if p in doc_set}
    for page in (p for p in chosen if p not in doc_set):
        if cancel is not None and cancel.is_set():
            return []  # nothing pruned: what an earlier run rendered stays for the next
        target = folder / "man" / page.relative_to(MAN_ROOT).with_suffix(".txt")
        wanted.add(target)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")  # no parser reads it: a stop leaves no page
            partial.write_text(render_man_page(page), encoding="utf-8")
            partial.replace(target)
    for stale in [p for p in folder.rglob("*") if p.is_file() and p not in wanted]:
        stale.unlink()
    return sorted(p for p in wanted if p.exists())


def corpus_queries(files: Iterable[Path], titles: int = TITLE_QUERIES) -> list[str]:
    """Real queries: the retrieval evaluation's questions, then the titles of ``titles`` pages
    spread over the corpus (an HTML page's title, a man page's NAME line)."""
    questions, _ = load_questions(DEFAULT_EVAL)
    found = [title for title in map(page_title, spread(sorted(files), titles)) if title]
    return list(dict.fromkeys([*(q.text for q in questions), *found]))


def page_title(path: Path) -> str:
    """What a reader would call the page: its HTML title or its man page's NAME line."""
    if path.suffix == ".html":
        match = _TITLE.search(path.read_bytes()[:8192])
        raw = match.group(1).decode("utf-8", errors="replace") if match else ""
        return " ".join(_TAG.sub(" ", raw).split())
    lines = [" ".join(line.split()) for line in
             path.read_text(encoding="utf-8", errors="replace").splitlines()]
    worded = [line for line in lines if any(c.isalpha() for c in line)]
    # The line after NAME (a man page, and git's AsciiDoc text under its underline).
    after = worded.index("NAME") + 1 if "NAME" in worded else 0
    return worded[after] if after < len(worded) else ""
