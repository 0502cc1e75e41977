"""The runner's Role holds exactly the verbs its scheduled experiments need
(docs/platforms.md "API calls and RBAC"), no wildcard, and cluster scope only for the
namespace opt-in check, limited to that one namespace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.render import NAMESPACE, RUNNER_SETS, find, one, render

BASE = {("", "pods"): ["list", "watch"], ("", "pods/log"): ["get"],
        ("", "services"): ["get"]}
ROTATE = ["create", "delete", "get", "patch"]
EXPECTED: dict[str, dict[tuple[str, str], list[str]]] = {
    # consumer-kill: pods are deleted, nothing else is written
    "default": {**BASE, ("", "pods"): ["delete", "list", "watch"]},
    # pause (exec, and get for the rollback's same-pod check) + rotation reloaded by signal
    "pause-tls": {**BASE, ("", "pods"): ["get", "list", "watch"],
                  ("", "pods/exec"): ["create", "get"], ("", "secrets"): ROTATE},
    # rotation reloaded by a rollout restart (patch of the Deployment), port-forward
    "own-files": {**BASE, ("apps", "deployments"): ["patch"], ("", "secrets"): ROTATE,
                  ("", "pods/portforward"): ["create", "get"]},
    # proxy faults only
    "network": BASE,
}
ROLE_NAMESPACE = {"default": NAMESPACE, "pause-tls": NAMESPACE, "own-files": "shop-staging",
                  "network": NAMESPACE}


def rules_of(role: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert "resourceNames" not in rule, rule  # create cannot be limited by name
                key = (group, resource)
                assert key not in out, f"{key} in two rules"
                out[key] = rule["verbs"]
    return out


@pytest.mark.parametrize("value_set", RUNNER_SETS)
def test_role_has_exactly_the_verbs_the_schedules_need(value_set: str) -> None:
    docs = render("pipechaos", value_set)
    role = one(docs, "Role", "t-runner")
    assert role["metadata"]["namespace"] == ROLE_NAMESPACE[value_set]
    assert rules_of(role) == EXPECTED[value_set]
    binding = one(docs, "RoleBinding", "t-runner")
    assert binding["metadata"]["namespace"] == ROLE_NAMESPACE[value_set]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "t-runner",
                                    "namespace": NAMESPACE}]
    for cronjob in find(docs, "CronJob"):
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == "t-runner"


@pytest.mark.parametrize("value_set", RUNNER_SETS)
def test_no_wildcards_and_cluster_scope_only_for_the_namespace_check(value_set: str) -> None:
    docs = render("pipechaos", value_set)
    for doc in find(docs, "Role") + find(docs, "ClusterRole"):
        for rule in doc["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (doc["kind"], rule)
    cluster_roles = find(docs, "ClusterRole")
    if value_set == "own-files":  # rbac.namespaceOptIn: false
        assert cluster_roles == [] and find(docs, "ClusterRoleBinding") == []
        return
    assert len(cluster_roles) == 1
    assert cluster_roles[0]["rules"] == [{"apiGroups": [""], "resources": ["namespaces"],
                                          "resourceNames": [NAMESPACE], "verbs": ["get"]}]
    (binding,) = find(docs, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == cluster_roles[0]["metadata"]["name"]
    assert binding["subjects"][0]["name"] == "t-runner"


def test_no_exec_and_no_secrets_unless_a_schedule_needs_them() -> None:
    """What the issue names outright: pods/exec only with a pause (or a signal reload), Secret
    verbs only with a certificate fault."""
    for value_set, expected in EXPECTED.items():
        resources = {key[1] for key in expected}
        assert ("pods/exec" in resources) == (value_set == "pause-tls")
        assert ("secrets" in resources) == (value_set in ("pause-tls", "own-files"))
