"""The instant-issuance job as a pure state machine: states, steps, and what to do after a crash.

A job walks one path (outlet.md section 1)::

    marked -> fed -> at_encoder -> personalised -> verified -> printed -> ejected
           -> reported -> activated -> ecard_issued

Each arrow is a :class:`Step`. The job's state is the last step finished; the journal records each
step before and after it runs, so after a crash a worker knows which step was under way and
:attr:`Step.after_crash` says how to take it up again. Any failure that spoils the card puts the
job in ``failed`` (the card in the reject box) until it is sent back to the queue (a new attempt
with a new blank) or withdrawn (the card goes on through ordinary central production). This module
does no I/O: the worker (:mod:`sscard_issuer.outlet.worker`) runs the steps.
"""

from __future__ import annotations

import enum

from sscard_issuer.errors import FieldError, SscardError


class JobState(enum.Enum):
    MARKED = "marked"  # marked for instant issuance, waiting for a printer
    FED = "fed"  # a blank left the feeder (counted out of the stock)
    AT_ENCODER = "at_encoder"  # the blank answers at the printer's contact station
    PERSONALISED = "personalised"
    VERIFIED = "verified"  # read back and compared with the application
    PRINTED = "printed"
    EJECTED = "ejected"  # handed out of the printer (counted as a good card)
    REPORTED = "reported"  # the card's numbers reported back to the registry, card collected
    ACTIVATED = "activated"
    ECARD_ISSUED = "ecard_issued"  # done
    FAILED = "failed"  # the blank was spoiled: waiting for the operator (queue again or withdraw)
    WITHDRAWN = "withdrawn"  # no instant issuance: the card goes through central production

    @property
    def over(self) -> bool:
        return self in (JobState.ECARD_ISSUED, JobState.WITHDRAWN)

    @property
    def card_inside(self) -> bool:
        """Whether this attempt's card is inside the printer in this state."""
        return self in (JobState.FED, JobState.AT_ENCODER, JobState.PERSONALISED, JobState.VERIFIED,
                        JobState.PRINTED)

    def display(self, lang: str = "zh") -> str:
        zh, en = _STATE_NAMES[self]
        return zh if lang == "zh" else en


_STATE_NAMES = {
    JobState.MARKED: ("排队等待制卡", "waiting for a printer"),
    JobState.FED: ("已进卡", "blank fed"),
    JobState.AT_ENCODER: ("卡片已到写卡位", "at the encoder"),
    JobState.PERSONALISED: ("芯片已写入", "chip personalised"),
    JobState.VERIFIED: ("芯片已校验", "chip verified"),
    JobState.PRINTED: ("卡面已打印", "face printed"),
    JobState.EJECTED: ("卡片已出卡", "card ejected"),
    JobState.REPORTED: ("已回盘", "reported back"),
    JobState.ACTIVATED: ("已启用", "activated"),
    JobState.ECARD_ISSUED: ("电子社保卡已签发，制卡完成", "e-card issued: done"),
    JobState.FAILED: ("制卡失败，等待处理", "failed: waiting for the operator"),
    JobState.WITHDRAWN: ("已撤销即时制卡", "instant issuance withdrawn"),
}


class AfterCrash(enum.Enum):
    """How to take up a step that was under way when the process died."""

    REPEAT = "repeat"  # the step is safe to run again (it checks what is done, or changes nothing twice)
    ASK_PRINTER = "ask_printer"  # the printer's card position tells whether the move happened
    SPOIL = "spoil"  # no way to know how far it got: the card goes to the reject box, a new attempt


class Step(enum.Enum):
    FEED = "feed"
    ENCODER = "encoder"
    PERSONALISE = "personalise"
    VERIFY = "verify"
    PRINT = "print"
    EJECT = "eject"
    REPORT = "report"
    ACTIVATE = "activate"
    ECARD = "ecard"

    @property
    def source(self) -> JobState:
        return _PATH[self][0]

    @property
    def target(self) -> JobState:
        return _PATH[self][1]

    @property
    def after_crash(self) -> AfterCrash:
        return _PATH[self][2]

    @property
    def uses_printer(self) -> bool:
        return self in (Step.FEED, Step.PRINT, Step.EJECT)


_PATH: dict[Step, tuple[JobState, JobState, AfterCrash]] = {
    Step.FEED: (JobState.MARKED, JobState.FED, AfterCrash.ASK_PRINTER),
    Step.ENCODER: (JobState.FED, JobState.AT_ENCODER, AfterCrash.REPEAT),
    # the personaliser keeps its own journal per card: it resumes where the chip was left
    Step.PERSONALISE: (JobState.AT_ENCODER, JobState.PERSONALISED, AfterCrash.REPEAT),
    Step.VERIFY: (JobState.PERSONALISED, JobState.VERIFIED, AfterCrash.REPEAT),
    # a face half printed cannot be printed over: a print cut short spoils the card
    Step.PRINT: (JobState.VERIFIED, JobState.PRINTED, AfterCrash.SPOIL),
    Step.EJECT: (JobState.PRINTED, JobState.EJECTED, AfterCrash.ASK_PRINTER),
    # the registry's transitions refuse a second time; the step reads the card's state first
    Step.REPORT: (JobState.EJECTED, JobState.REPORTED, AfterCrash.REPEAT),
    Step.ACTIVATE: (JobState.REPORTED, JobState.ACTIVATED, AfterCrash.REPEAT),
    Step.ECARD: (JobState.ACTIVATED, JobState.ECARD_ISSUED, AfterCrash.REPEAT),
}
_NEXT = {source: step for step, (source, _, _) in _PATH.items()}
STEPS = tuple(Step)


class OnFailure(enum.Enum):
    """What happens to the application when its blank is spoiled: the operator's choice."""

    ASK = "ask"  # wait in ``failed`` for the operator to decide
    REQUEUE = "requeue"  # back to the queue at once, for a new blank
    WITHDRAW = "withdraw"  # give up instant issuance for this card


class JobRefused(SscardError):
    """An operation on a job that its state does not allow."""

    def __init__(self, message: str, message_zh: str) -> None:
        self.message_zh = message_zh
        super().__init__(message)

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else str(self)


def next_step(state: JobState) -> Step | None:
    """The step to run from ``state``; None when the job is over or waiting for the operator."""
    return _NEXT.get(state)


def check_step(state: JobState, step: Step) -> None:
    """Refuse a step out of order (a bug, or two workers on one job)."""
    if next_step(state) is not step:
        raise JobRefused(f"step {step.value} cannot run in state {state.value}",
                         f"当前状态“{state.display()}”不能执行步骤 {step.value}")


def on_failure(value: OnFailure | str) -> OnFailure:
    try:
        return OnFailure(value)
    except ValueError:
        raise FieldError("on_failure", "ask, requeue or withdraw", value) from None


def after_spoil(policy: OnFailure) -> JobState:
    """The job's state once its blank went to the reject box."""
    return {OnFailure.ASK: JobState.FAILED, OnFailure.REQUEUE: JobState.MARKED,
            OnFailure.WITHDRAW: JobState.WITHDRAWN}[policy]


def decide(state: JobState, requeue: bool) -> JobState:
    """The operator's decision on a failed job: back to the queue, or withdrawn."""
    if state is not JobState.FAILED:
        raise JobRefused(f"only a failed job waits for a decision (this one is {state.value})",
                         f"只有制卡失败的任务需要处理（当前状态：{state.display()}）")
    return JobState.MARKED if requeue else JobState.WITHDRAWN
