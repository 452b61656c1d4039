"""Which 文书 exist, who may issue each, and when a case is ready for it."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.errors import DomainError, PermissionDenied
from app.domain.roles import Role


@dataclass(frozen=True)
class DocumentRule:
    kind: str
    title: str
    word: str  # the character in the 文书编号: 收、受、补 …
    code: str  # two letters keying its number sequence
    roles: frozenset[Role]
    needs: str  # what the case must have: see `check_ready`
    repeatable: bool = False  # one per occasion (e.g. each 补正) instead of one per case


W, IS, CO = Role.WINDOW, Role.ISSUANCE, Role.COUNTY
RULES: dict[str, DocumentRule] = {
    r.kind: r
    for r in (
        DocumentRule("receipt", "收件回执", "收", "SJ", frozenset({W, CO}), "received"),
        DocumentRule("acceptance", "受理通知书", "受", "SL", frozenset({W, CO}), "accepted"),
        DocumentRule(
            "correction", "补正材料通知书", "补", "BZ", frozenset({W, CO}), "correction", True
        ),
        DocumentRule("refusal", "不予受理通知书", "不受", "BS", frozenset({W, CO}), "refused"),
        DocumentRule("completion", "办结通知书", "结", "BJ", frozenset({W, IS, CO}), "decided"),
        DocumentRule("delivery", "结果送达回证", "送", "SD", frozenset({IS, CO}), "issued"),
        DocumentRule("proxy_authorisation", "帮代办委托书", "委", "WT", frozenset({W}), "proxy"),
        DocumentRule("handover", "帮代办移交单", "移", "YJ", frozenset({W}), "handed_off"),
        DocumentRule("guide", "一次性告知单", "告", "GZ", frozenset({W, IS}), "none"),
    )
}

READY_MESSAGES = {
    "accepted": "办件尚未受理，不能出具{title}",
    "correction": "办件当前没有待补正的材料，不能出具{title}",
    "refused": "办件未作不予受理决定，不能出具{title}",
    "decided": "办件尚未办结，不能出具{title}",
    "issued": "办件尚未出件，不能出具{title}",
    "proxy": "办件没有登记代办人，不能出具{title}",
    "handed_off": "办件尚未移交县级，不能出具{title}",
}


@dataclass(frozen=True)
class DocumentFacts:
    """What the readiness check looks at."""

    accepted: bool
    correction_pending: bool
    refused: bool
    decided: bool
    issued: bool
    has_proxy: bool
    handed_off: bool


def rule_for(kind: str) -> DocumentRule:
    try:
        return RULES[kind]
    except KeyError:
        names = "、".join(f"{k}（{r.title}）" for k, r in RULES.items())
        raise DomainError(f"没有这种文书：{kind}。可选：{names}", code="kind") from None


def check_role(kind: str, role: Role) -> DocumentRule:
    rule = rule_for(kind)
    if role not in rule.roles:
        raise PermissionDenied(f"{role.label}不能出具{rule.title}")
    return rule


def check_ready(kind: str, role: Role, facts: DocumentFacts | None) -> DocumentRule:
    """The rule, or a Chinese error saying why this role cannot issue it for this case now."""
    rule = check_role(kind, role)
    if rule.needs == "none":
        return rule
    if facts is None:
        raise DomainError(f"{rule.title}须针对一个办件出具", code="no_case")
    if rule.needs == "received":
        return rule
    ready = {
        "accepted": facts.accepted,
        "correction": facts.correction_pending,
        "refused": facts.refused,
        "decided": facts.decided,
        "issued": facts.issued,
        "proxy": facts.has_proxy,
        "handed_off": facts.handed_off,
    }[rule.needs]
    if not ready:
        raise DomainError(READY_MESSAGES[rule.needs].format(title=rule.title), code="not_ready")
    return rule
