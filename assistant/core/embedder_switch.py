"""Switching the embedder: the index is rebuilt with the new one in the background while the old
one keeps answering, then the new one is swapped in.

``[knowledge] embedder`` names the embedder wanted; the store's meta, the one its vectors are
from. When they differ, a job owned by ``embedder:<name>`` on the background lane fills shadow
tables (:mod:`assistant.knowledge.rebuild`): it yields to answers at every batch, and to the
syncs queued behind it (it goes on in a job queued after them), so documents indexed meanwhile
are indexed, with the old embedder, and caught up before the swap. The swap is a short job on
the interactive lane (no view reads the index meanwhile) while no answer is in progress (one
that embedded its question with the old embedder must not store it beside the new vectors),
under the write lock: a last catch-up, then one write of the meta switches the tables, and the
parts embed with the new one. A rebuild stopped half-way resumes from its shadow tables when
the core next loads the knowledge, or when the switch is asked for again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.core.changes import Area, Change
from assistant.core.embedders import SOURCE_KEY, EmbedderChoice, embedder_name, resolve_embedder
from assistant.core.scheduler import Job, JobState, Lane
from assistant.errors import LoremindError
from assistant.knowledge.rebuild import (
    PLAN_KEY,
    Plan,
    Rebuild,
    RebuildProgress,
    TextTable,
    rebuild_text,
)

if TYPE_CHECKING:
    from assistant.core.app import Loremind
    from assistant.store import Store

log = logging.getLogger(__name__)
OWNER_PREFIX = "embedder:"
WAIT_STEP_S = 0.25  # how often wait() reports progress


def text_tables() -> tuple[TextTable, ...]:
    """The tables besides the passages whose vectors are re-embedded: memories and messages."""
    from assistant.chat.tables import MESSAGES
    from assistant.memory.tables import MEMORIES

    return (TextTable(MEMORIES), TextTable(MESSAGES))


class EmbedderSwitch:
    """The rebuild of the index for the embedder the settings want, in this core."""

    def __init__(self, core: Loremind) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._rebuild: Rebuild | None = None  # the rebuild this core runs, once started
        #: Why the embedder the settings want is not being switched to ("" when it is).
        self.problem = ""

    # -- asking --------------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The rebuild's jobs queued or running (none when no rebuild runs)."""
        return self._core.scheduler.jobs(prefix=OWNER_PREFIX)

    @property
    def progress(self) -> RebuildProgress | None:
        """How far the rebuild running now has come; None when none runs."""
        rebuild = self._rebuild
        if rebuild is None or not self.jobs():
            return None
        return dataclasses.replace(rebuild.progress)

    def text(self) -> str:
        """The rebuild in words, for a status bar ("" when none runs)."""
        progress = self.progress
        if progress is not None:
            return rebuild_text(progress)
        jobs = self.jobs()
        return f"{jobs[0].title}…" if jobs else ""

    # -- switching -----------------------------------------------------------------------------

    def use(self, source: str) -> Job | None:
        """Make ``source`` the embedder (checked first; a ModelError says what is wrong): saved
        in the settings, then the rebuild starts, or resumes. None when the index already is
        made with it (a rebuild for another one is given up)."""
        choice = resolve_embedder(source, self._core.paths)
        settings = self._core.current_settings
        knowledge = dataclasses.replace(settings.knowledge, embedder=choice.source)
        self._core.settings.update(dataclasses.replace(settings, knowledge=knowledge))
        return self.follow()

    def follow(self) -> Job | None:
        """Bring the index in line with the embedder the settings want: start the rebuild for
        it (or resume it), stop one for another, or give up shadows no longer wanted. The job
        that rebuilds, or None."""
        parts = self._core.parts
        store = parts.store
        if store.read_only_reason:
            return None  # the machine that writes the shared library rebuilds it
        wanted = self._core.current_settings.knowledge.embedder
        target = embedder_name(wanted)
        with self._lock:
            running = self.jobs()
            if target == (store.get_meta("embedder") or parts.embedder.name):
                self.problem = ""
                for job in running:
                    job.cancel()
                if Plan.recorded(store) is not None:
                    self._core.scheduler.submit(lambda: self._give_up(store), owner="maintenance",
                                                title="Dropping an unfinished rebuild")
                return None
            for job in running:
                if job.owner == OWNER_PREFIX + target:
                    return job
                job.cancel()
            try:
                choice = resolve_embedder(wanted, self._core.paths)
            except LoremindError as exc:
                self.problem = str(exc)
                raise
            self.problem = ""
            return self._submit(choice, None)

    def stop(self) -> list[Job]:
        """Stop the rebuild (it keeps what it embedded, and resumes when the core next loads
        the knowledge or the switch is asked for again)."""
        jobs = self.jobs()
        for job in jobs:
            job.cancel()
        return jobs

    def wait(self, progress: Callable[[RebuildProgress], None] | None = None,
             cancel: threading.Event | None = None) -> str:
        """Wait for the rebuild to end, through every job it goes on in, handing ``progress``
        how far it is now and then; setting ``cancel`` stops it. Its summary; raises its error,
        or WorkCancelled when it was stopped."""
        summary = ""
        while jobs := self.jobs():
            # The background job waits for its swap; one that gave way goes on in the next.
            job = next((j for j in jobs if j.lane is Lane.BACKGROUND), jobs[0])
            while not job.wait(WAIT_STEP_S):
                if cancel is not None and cancel.is_set():
                    self.stop()
                if progress is not None and (now := self.progress) is not None:
                    progress(now)
            summary = job.result() or summary
        return summary

    # -- the work ------------------------------------------------------------------------------

    def _submit(self, choice: EmbedderChoice, rebuild: Rebuild | None) -> Job:
        return self._core.scheduler.submit(
            lambda: self._run(choice, rebuild), owner=OWNER_PREFIX + choice.name,
            title=f"Rebuilding the index for {choice.name}")

    def _run(self, choice: EmbedderChoice, rebuild: Rebuild | None) -> str:
        """One job of the rebuild: embed until done (then swap), or until other background
        work waits, which goes first while this goes on in a job queued after it."""
        scheduler = self._core.scheduler
        job = scheduler.current_job()
        assert job is not None
        if rebuild is None:
            rebuild = self._start(choice)
        while rebuild.step():
            job.report(dataclasses.replace(rebuild.progress))
            with self._lock:  # not while follow() stops this rebuild for another
                if self._others_wait(job) and not job.control.cancelled:
                    self._submit(choice, rebuild)
                    return ""
        rebuild.index_shadows()
        while rebuild.step():  # what was written while the indexes were built
            job.report(dataclasses.replace(rebuild.progress))
        rebuild.progress.stage = "switching"
        job.report(dataclasses.replace(rebuild.progress))
        swap = scheduler.submit(lambda: self._swap(rebuild), owner=job.owner,
                                title=f"Switching to {choice.name}", lane=Lane.INTERACTIVE)
        swap.result()
        log.info("The index now uses %s: %s", choice.name, rebuild.summary())
        return rebuild.summary()

    def _start(self, choice: EmbedderChoice) -> Rebuild:
        """Load the new embedder and prepare its shadow tables: those of the rebuild recorded
        for it, if one is, else new ones (any other shadows go)."""
        from assistant.store.generations import drop_tables, leftover_tables

        store = self._core.parts.store
        embedder = choice.open()
        plan = Plan.recorded(store)
        if plan is None or (plan.name, plan.dim) != (choice.name, embedder.dim):
            plan = Plan(choice.source, choice.name, embedder.dim, uuid.uuid4().hex[:8])
            plan.record(store)
        drop_tables(store, leftover_tables(store, plan.tag))
        rebuild = Rebuild(store, embedder, plan, text_tables())
        rebuild.prepare()
        self._rebuild = rebuild
        return rebuild

    def _others_wait(self, job: Job) -> bool:
        """Whether background work as urgent as ``job`` waits for the lane (a sync)."""
        return any(other.lane is Lane.BACKGROUND and other.state is JobState.QUEUED
                   and other.priority <= job.priority and other.owner != job.owner
                   for other in self._core.scheduler.jobs())

    def _swap(self, rebuild: Rebuild) -> None:
        """Catch up and switch to the shadow tables, with no answer in progress."""
        from assistant.store.generations import drop_tables, leftover_tables, switch_tables

        core = self._core
        store = core.parts.store
        plan = rebuild.plan
        with core.scheduler.gate.held_shut(), store.writing():
            rebuild.finish()
            switch_tables(store, rebuild.tables, plan.dim,
                          {"embedder": plan.name, SOURCE_KEY: plan.source, PLAN_KEY: ""})
            core.parts.replace_embedder(rebuild.embedder)
        core.knowledge.embedder_switched()
        drop_tables(store, leftover_tables(store))
        core.changes.publish(Change(Area.KNOWLEDGE, "embedder", (plan.name,)))

    def _give_up(self, store: Store) -> None:
        """Drop a rebuild no longer wanted (the index is made with the wanted embedder)."""
        from assistant.store.generations import drop_tables, leftover_tables

        with store.writing():
            store.set_meta(PLAN_KEY, "")
            drop_tables(store, leftover_tables(store))
