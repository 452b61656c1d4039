"""Roles, and the actor (account + desk) that takes an action."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What an account is for. Values are stored; labels are shown."""

    WINDOW = "window"
    STATION = "station"
    ISSUANCE = "issuance"
    ADMIN = "admin"
    AUDITOR = "auditor"
    COUNTY = "county"
    SYNC = "sync"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.WINDOW: "综合窗口",
    Role.STATION: "站办所",
    Role.ISSUANCE: "出件窗口",
    Role.ADMIN: "系统管理员",
    Role.AUDITOR: "审计管理员",
    Role.COUNTY: "县级帮代办窗口",
    Role.SYNC: "县级同步",
}

# Roles an account can be given; SYNC is the internal actor that applies county events.
ACCOUNT_ROLES: tuple[Role, ...] = (
    Role.WINDOW,
    Role.STATION,
    Role.ISSUANCE,
    Role.ADMIN,
    Role.AUDITOR,
    Role.COUNTY,
)

# Roles that see personal data in full when they reveal it (audited).
REVEAL_ROLES: frozenset[Role] = frozenset({Role.WINDOW, Role.STATION, Role.ISSUANCE, Role.COUNTY})


def parse_role(value: str) -> Role:
    """Accept the stored value or the Chinese label."""
    for role in Role:
        if value in (role.value, role.label):
            return role
    from app.domain.errors import ValidationError

    names = "、".join(f"{r.value}（{r.label}）" for r in ACCOUNT_ROLES)
    raise ValidationError(f"未知角色：{value}。可用角色：{names}", field="role")


@dataclass(frozen=True)
class Actor:
    """Who acts: the account, its role and station, the township and desk it works at."""

    account_id: int | None
    username: str
    role: Role
    township: str
    desk: str = ""
    station: str | None = None
    display_name: str = ""

    @property
    def label(self) -> str:
        return self.display_name or self.username
