"""The actions behind the TLS faults: swap a serving certificate, or put a toxic on a hop.

Both prove themselves with probe handshakes (chaos.tls.handshake): `verify()` wants the
expected failure, `revert_verify()` a good handshake again. Their `record()` is enough to
revert without a platform: the certificate swap's file paths and pid, or the proxy API URL,
proxy and toxic name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chaos.faults.base import FaultNotEffective
from chaos.tls import handshake, swap, toxics_api
from chaos.tls.handshake import ProbeTarget

if TYPE_CHECKING:
    from chaos.platforms.base import CertificateSwap, Platform, SecretSwap


class RevertNotEffective(FaultNotEffective):
    """revert_verify() still saw the fault after revert()."""


class _Probed:
    """Shared verify/revert_verify: poll probe handshakes until the wanted outcome."""

    fault: str
    probe: ProbeTarget
    expect_codes: frozenset[int] | None  # certificate faults
    expect_stall: bool  # handshake-stall
    verify_within_s: float
    live: bool = True  # planned in this run (False: restored from a journal record)

    def _want(self) -> str:
        if self.expect_stall:
            return "a handshake that does not complete"
        codes = sorted(self.expect_codes or ())
        return "verify code " + " or ".join(
            f"{c} ({handshake.CODE_NAMES.get(c, '?')})" for c in codes
        )

    def verify(self) -> None:
        ok, res = handshake.wait_for(
            self.probe, self.expect_codes, self.expect_stall, self.verify_within_s
        )
        if not ok:
            raise FaultNotEffective(
                f"{self.fault}: probe handshake to {self.probe.address} as "
                f"{self.probe.server_hostname} wanted {self._want()}, got: {res.describe()}"
            )

    def revert_verify(self) -> None:
        ok, res = handshake.wait_for(self.probe, None, False, self.verify_within_s)
        if not ok:
            raise RevertNotEffective(
                f"{self.fault}: after revert, probe handshake to {self.probe.address} "
                f"still fails: {res.describe()}"
            )

    def _check_after_revert(self) -> None:
        """The runner only calls revert(): a live action proves its revert right there (a
        failure is journaled as revert_failed with the probe's finding). An action restored
        from the journal skips it: after a crash the target may be gone altogether."""
        if self.live:
            self.revert_verify()

    def _probe_record(self) -> dict[str, Any]:
        return {
            "probe": self.probe.as_dict(),
            "expect_codes": sorted(self.expect_codes) if self.expect_codes else None,
            "expect_stall": self.expect_stall,
            "verify_within_s": self.verify_within_s,
        }


class RotateAction(_Probed):
    """The platform swaps the service's serving certificate for a bad one and back."""

    def __init__(
        self,
        fault: str,
        service: str,
        probe: ProbeTarget,
        expect_codes: frozenset[int],
        verify_within_s: float,
        platform: Platform | None,
        cert_pem: bytes = b"",
        key_pem: bytes = b"",
        summary: str = "",
        applied: dict[str, Any] | None = None,
    ) -> None:
        self.fault = fault
        self.service = service
        self.probe = probe
        self.expect_codes = expect_codes
        self.expect_stall = False
        self.verify_within_s = verify_within_s
        self._platform = platform
        self._cert_pem = cert_pem
        self._key_pem = key_pem
        self.summary = summary
        self.swap: CertificateSwap | SecretSwap | None = None  # live run: the platform undoes it
        self.swap_record = applied  # journal form: undone from files without a platform
        self._reverted = False

    def describe(self) -> str:
        return f"{self.fault}: {self.service} serves a certificate {self.summary} (rotate)"

    def record(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "via": "rotate",
            "service": self.service,
            "summary": self.summary,
            "swap": self.swap_record,
            **self._probe_record(),
        }

    def apply(self) -> None:
        if self._platform is None:
            raise FaultNotEffective(f"{self.fault}: a restored action can only be reverted")
        self.swap = self._platform.rotate_certificate(self.service, self._cert_pem, self._key_pem)
        self.swap_record = swap.swap_to_dict(self.swap)

    def revert(self) -> None:
        if self._reverted or self.swap_record is None:
            return  # never applied (or already undone): nothing to put back
        if self._platform is not None and self.swap is not None:
            self._platform.restore_certificate(self.swap)
        else:
            swap.undo_record(self.swap_record)
        self._reverted = True
        self._check_after_revert()


class ToxicAction(_Probed):
    """A toxic on a proxied hop: `tls` (terminate with a bad cert) or a blackhole."""

    def __init__(
        self,
        fault: str,
        api_url: str,
        proxy: str,
        toxic: dict[str, Any],
        probe: ProbeTarget,
        expect_codes: frozenset[int] | None,
        expect_stall: bool,
        verify_within_s: float,
        summary: str = "",
        embedded: bool = False,
    ) -> None:
        self.fault = fault
        self.api_url = api_url
        self.embedded = embedded  # the proxy server dies with its run (see toxics_api)
        self.proxy = proxy
        self._toxic = toxic
        self.probe = probe
        self.expect_codes = expect_codes
        self.expect_stall = expect_stall
        self.verify_within_s = verify_within_s
        self.summary = summary
        self._reverted = False

    @property
    def toxic_name(self) -> str:
        return str(self._toxic["name"])

    def describe(self) -> str:
        return f"{self.fault}: proxy {self.proxy} {self.summary} (toxic {self.toxic_name})"

    def record(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "via": "proxy",
            "api_url": self.api_url,
            "embedded": self.embedded,
            "proxy": self.proxy,
            "toxic": self.toxic_name,
            "toxic_type": self._toxic.get("type"),
            "summary": self.summary,
            **self._probe_record(),
        }

    def apply(self) -> None:
        if "attributes" not in self._toxic:
            raise FaultNotEffective(f"{self.fault}: a restored action can only be reverted")
        toxics_api.add_toxic(self.api_url, self.proxy, self._toxic)

    def revert(self) -> None:
        if self._reverted:
            return
        toxics_api.remove_toxic(self.api_url, self.proxy, self.toxic_name, self.embedded)
        self._reverted = True
        self._check_after_revert()


def restore_action(record: dict[str, Any]) -> RotateAction | ToxicAction:
    """Rebuild an action from its journal record, without a platform, to revert it."""
    probe = ProbeTarget.from_dict(record["probe"])
    codes = frozenset(int(c) for c in record.get("expect_codes") or ())
    within = float(record.get("verify_within_s", 5.0))
    fault = str(record["fault"])
    action: RotateAction | ToxicAction
    if record.get("via") == "rotate":
        raw = record.get("swap")
        action = RotateAction(
            fault, str(record["service"]), probe, codes, within, None,
            summary=str(record.get("summary", "")),
            applied=dict(raw) if raw else None,
        )
    else:
        action = ToxicAction(
            fault, str(record["api_url"]), str(record["proxy"]),
            {"name": str(record["toxic"]), "type": record.get("toxic_type")},
            probe, codes or None, bool(record.get("expect_stall")), within,
            summary=str(record.get("summary", "")),
            embedded=bool(record.get("embedded")),
        )
    action.live = False
    return action
