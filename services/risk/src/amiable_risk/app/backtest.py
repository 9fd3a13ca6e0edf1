"""``amiable risk backtest``: how well the grade given when a claim was qualified predicted that
the claim would be paid more than 30 days late.

The log is replayed through the risk projection's own fold (``domain.evolve``), each debtor
account in log order; the score and grade of the account right after a ``ClaimQualified`` are
the ones that claim got. Its outcome is read from the rest of the history:

- positive (paid late): settled more than 30 days after its due date, or never paid (still
  open, or written off) and more than 30 days past due at the end of the history;
- negative: settled within 30 days of its due date;
- excluded: cancelled (nothing was owed in the end), too young (open or written off, and not
  yet 30 days past due at the end), and claims never qualified.

The end of the history is the time of its last event. The AUC is the Mann-Whitney rank
statistic of the score at qualification (ties count one half): the chance that a claim paid late
got a higher score than one paid on time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from amiable_events.claims import (
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
)
from amiable_events.envelope import Envelope
from amiable_risk.domain.evolve import evolve
from amiable_risk.domain.scorecard import GRADES, Scorecard
from amiable_risk.domain.state import Account

LATE_DAYS = 30


def auc(scored: Iterable[tuple[float, bool]]) -> float | None:
    """The area under the ROC curve of ``(score, positive)`` pairs by the rank-sum formula,
    tied scores taking their average rank; None without both a positive and a negative."""
    ordered = sorted(scored, key=lambda pair: pair[0])
    positives = sum(1 for _, positive in ordered if positive)
    negatives = len(ordered) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    start = 0
    while start < len(ordered):
        end = start
        while end < len(ordered) and ordered[end][0] == ordered[start][0]:
            end += 1
        average_rank = (start + 1 + end) / 2  # ranks start..end-1, counted from 1
        rank_sum += average_rank * sum(1 for _, positive in ordered[start:end] if positive)
        start = end
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass(frozen=True)
class GradeRow:
    grade: str
    claims: int
    paid_late: int

    @property
    def rate(self) -> float | None:
        return self.paid_late / self.claims if self.claims else None


@dataclass(frozen=True)
class Report:
    scorecard_version: str
    history_end: date | None
    events: int
    qualified: int
    known: int
    paid_late: int
    cancelled: int
    too_young: int
    auc: float | None
    grades: tuple[GradeRow, ...]

    def as_json(self) -> dict:
        return {
            **asdict(self),
            "history_end": self.history_end.isoformat() if self.history_end else None,
            "late_days": LATE_DAYS,
            "grades": [{**asdict(row), "rate": row.rate} for row in self.grades],
        }

    def table(self) -> str:
        end = self.history_end.isoformat() if self.history_end else "-"
        lines = [
            f"risk backtest: scorecard {self.scorecard_version}, {self.events} events, "
            f"history to {end}",
            f"claims qualified {self.qualified}: outcome known {self.known}, excluded "
            f"{self.qualified - self.known} (cancelled {self.cancelled}, "
            f"too young {self.too_young})",
            "",
            f"{'grade':<6}{'claims':>8}{f'paid >{LATE_DAYS} days late':>24}{'rate':>8}",
        ]
        total = GradeRow("all", self.known, self.paid_late)
        for row in (*self.grades, total):
            rate = "-" if row.rate is None else f"{row.rate:.1%}"
            lines.append(f"{row.grade:<6}{row.claims:>8}{row.paid_late:>24}{rate:>8}")
        shown = "-" if self.auc is None else f"{self.auc:.3f}"
        lines += [
            "",
            f"AUC {shown} (score at qualification against paid more than {LATE_DAYS} days late)",
        ]
        return "\n".join(lines)


@dataclass
class _Claim:
    due_on: date | None = None
    score: int | None = None
    grade: str | None = None
    settled_on: date | None = None
    unpaid: bool = False  # written off
    cancelled: bool = False


class Backtest:
    """Folds envelopes in log order (per debtor account), then reports."""

    def __init__(self, scorecard: Scorecard) -> None:
        self.scorecard = scorecard
        self.accounts: dict[str, Account | None] = {}
        self.claims: dict[str, _Claim] = {}
        self.events = 0
        self.last: datetime | None = None

    def add(self, envelope: Envelope) -> None:
        self.events += 1
        if self.last is None or envelope.time > self.last:
            self.last = envelope.time
        key = envelope.key
        account = evolve(self.accounts.get(key), envelope, self.scorecard)
        self.accounts[key] = account
        event = envelope.data
        if isinstance(event, ClaimRegistered):
            self._claim(key, event.claim_id).due_on = event.due_on
        elif isinstance(event, ClaimQualified):
            claim = self._claim(key, event.claim_id)
            if claim.score is None and account is not None and account.assessment is not None:
                claim.score = account.assessment.score
                claim.grade = account.assessment.grade
        elif isinstance(event, ClaimSettled):
            self._claim(key, event.claim_id).settled_on = event.settled_on
        elif isinstance(event, ClaimWrittenOff):
            self._claim(key, event.claim_id).unpaid = True
        elif isinstance(event, ClaimCancelled):
            self._claim(key, event.claim_id).cancelled = True

    def _claim(self, key: str, claim_id) -> _Claim:
        return self.claims.setdefault(f"{key}/{claim_id}", _Claim())

    def report(self) -> Report:
        end = self.last.date() if self.last is not None else None
        scored: list[tuple[int, bool]] = []
        per_grade = {grade: [0, 0] for grade in GRADES}
        cancelled = too_young = qualified = 0
        for claim in self.claims.values():
            if claim.score is None or claim.due_on is None:
                continue
            qualified += 1
            late = _outcome(claim, end)
            if claim.cancelled:
                cancelled += 1
            elif late is None:
                too_young += 1
            else:
                scored.append((claim.score, late))
                per_grade[claim.grade][0] += 1
                per_grade[claim.grade][1] += late
        return Report(
            scorecard_version=self.scorecard.version,
            history_end=end,
            events=self.events,
            qualified=qualified,
            known=len(scored),
            paid_late=sum(late for _, late in scored),
            cancelled=cancelled,
            too_young=too_young,
            auc=auc(scored),
            grades=tuple(GradeRow(grade, *per_grade[grade]) for grade in GRADES),
        )


def _outcome(claim: _Claim, end: date | None) -> bool | None:
    """Paid more than 30 days late (True), within 30 days (False), not known yet (None)."""
    if claim.cancelled:
        return None
    if claim.settled_on is not None and not claim.unpaid:
        return (claim.settled_on - claim.due_on).days > LATE_DAYS
    if end is not None and (end - claim.due_on).days > LATE_DAYS:
        return True
    return None


def backtest(envelopes: Iterable[Envelope], scorecard: Scorecard) -> Report:
    run = Backtest(scorecard)
    for envelope in envelopes:
        run.add(envelope)
    return run.report()


async def backtest_log(
    bootstrap: str, topic: str, scorecard: Scorecard, *, kafka_options: dict[str, Any] | None = None
) -> Report:
    """The backtest of the log as it is now, from offset 0 to its end."""
    run = Backtest(scorecard)
    async for envelope in read_log(bootstrap, topic, kafka_options=kafka_options):
        run.add(envelope)
    return run.report()


async def read_log(
    bootstrap: str, topic: str, *, kafka_options: dict[str, Any] | None = None
) -> AsyncIterator[Envelope]:
    """Every event of ``topic`` from offset 0 to the end offsets when it starts, in partition
    order (one debtor account's events are in one partition). Records that do not decode are
    skipped: the live consumers dead-lettered them."""

    from amiable_events.catalog import REGISTRY
    from amiable_events.envelope import DecodeError, decode
    from amiable_events.kafka import log_reader
    from amiable_events.projection import topic_partitions

    # TLS and SASL: amiable_events.kafka.client_security.
    consumer = log_reader(bootstrap, kafka_options or {}, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp in partitions if ends[tp] > 0}
        while left:
            batch = await consumer.getmany(*left, timeout_ms=1000, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    try:
                        yield decode(
                            REGISTRY,
                            record.key,
                            record.value,
                            record.headers,
                            record.partition,
                            record.offset,
                        )
                    except DecodeError:
                        continue
            for tp in list(left):
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        await consumer.stop()
