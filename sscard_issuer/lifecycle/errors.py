"""Typed errors of the card lifecycle."""

from __future__ import annotations

from sscard_issuer.errors import SscardError
from sscard_issuer.lifecycle.states import ActionKind, CardState, Lang


class LifecycleError(SscardError):
    """Base of every card lifecycle error."""


class IllegalTransition(LifecycleError):
    """``action`` is not allowed on a card in ``state``; ``allowed`` lists what is (nothing changed).

    The message is English and uses the stored codes; :meth:`display` gives the operator's wording.
    """

    def __init__(self, action: ActionKind, state: CardState, allowed: tuple[ActionKind, ...]) -> None:
        self.action = action
        self.state = state
        self.allowed = allowed
        listed = ", ".join(a.value for a in allowed) if allowed else f"none ({state.value} is final)"
        super().__init__(f"{action.value} is not allowed on a card that is {state.value}; allowed: {listed}")

    def display(self, lang: Lang = "zh") -> str:
        """One line for the operator, in simplified Chinese or English (what they may do at the counter)."""
        allowed = [a.display(lang) for a in self.allowed if a.at_the_counter]
        if lang == "zh":
            listed = "、".join(allowed) if allowed else "无（卡片已终结）"
            return f"卡片当前状态为“{self.state.display('zh')}”，不能办理“{self.action.display('zh')}”；可办理：{listed}"
        listed = "; ".join(allowed) if allowed else "nothing (the card is final)"
        return f"The card is {self.state.display('en')}: cannot {self.action.display('en')}. Possible: {listed}."

    def __reduce__(self) -> tuple[type[IllegalTransition], tuple[ActionKind, CardState, tuple[ActionKind, ...]]]:
        return (type(self), (self.action, self.state, self.allowed))


class CardNotFound(LifecycleError):
    """No card answers to the reference, card identification code or social security number given."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.message_zh = f"找不到卡片：{key}"
        super().__init__(f"no card found for {key!r}")


class ConcurrentChange(LifecycleError):
    """The card (or application) changed since the caller read it; nothing was changed by this call."""

    def __init__(self, subject: str, expected_version: int, current_version: int) -> None:
        self.subject = subject
        self.expected_version = expected_version
        self.current_version = current_version
        self.message_zh = f"{subject} 已被他人修改（版本 {expected_version} → {current_version}），请刷新后重试"
        super().__init__(f"{subject} was changed meanwhile (version {expected_version} is now "
                         f"{current_version}); read it again and retry")


class NotEligible(LifecycleError):
    """The registry refuses the application; ``code`` is stable, the messages say why and what to do."""

    def __init__(self, code: str, message: str, message_zh: str) -> None:
        self.code = code
        self.message_zh = message_zh
        super().__init__(message)

    def message(self, lang: Lang = "zh") -> str:
        return str(self) if lang == "en" else self.message_zh
