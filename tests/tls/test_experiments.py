"""The TLS experiments' negative control: with compensation broken, the certificate
expiry experiment must fail on the `saga` verdict (the positive runs of all three TLS
experiments are in tests/e2e/test_library.py, which runs the whole library)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.runner import run_experiment


@pytest.mark.e2e
def test_cert_expired_catches_missing_compensation(tmp_path: Path) -> None:
    outcome = run_experiment("payment-cert-expired.yaml", tmp_path / "run", bug="no-compensation")
    assert outcome.exit_code == 1, outcome.explain()
    assert outcome.result["status"] == "failed"
    assert outcome.failing() == ["saga"], outcome.explain()
    (fault,) = outcome.result["faults"]
    assert fault["outcome"] == "reverted" and fault["verified"], fault
