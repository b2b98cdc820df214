"""Static-IP mode's settings for the node pass, in plain values (cmd/ipamd maps its flags onto them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class StaticConfig:
    only_nominated_subnets: bool = False
    """Subnets some claim nominates serve only pods that nominate them."""
    wait_interval: float = 1.0
    """Seconds before looking again while another node's agent has to confirm a release."""
    subnet_exhausted_backoff: float = 60.0

    def __post_init__(self) -> None:
        if self.wait_interval <= 0 or self.subnet_exhausted_backoff <= 0:
            raise ValueError("wait_interval and subnet_exhausted_backoff must be > 0")
