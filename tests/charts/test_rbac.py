"""The runner's Role holds exactly the verbs its scheduled experiments need
(docs/platforms.md "API calls and RBAC"), no wildcard, and cluster scope only for the
namespace opt-in check, limited to that one namespace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.render import NAMESPACE, RUNNER_SETS, find, one, render

Key = tuple[str, str, tuple[str, ...]]  # apiGroup, resource, resourceNames
WORKLOADS: dict[Key, list[str]] = {  # up(): the target's workloads exist, got by name
    ("apps", "deployments", ("inventory", "payment", "points")): ["get"],
    ("apps", "statefulsets", ("consumer", "redis")): ["get"]}
BASE: dict[Key, list[str]] = {("", "pods", ()): ["list"], ("", "pods/log", ()): ["get"],
                              ("", "services", ()): ["get"], **WORKLOADS}
ROTATE = ["create", "delete", "get", "patch"]
EXEC = ["create", "get"]
EXPECTED: dict[str, dict[Key, list[str]]] = {
    # consumer-kill: pods are deleted and the replacement watched; nothing else is written
    "default": {**BASE, ("", "pods", ()): ["delete", "list", "watch"]},
    # pause (exec; get for the same-pod check) + a rotation reloaded by signal (exec)
    "pause-tls": {**BASE, ("", "pods", ()): ["get", "list"], ("", "pods/exec", ()): EXEC,
                  ("", "secrets", ()): ROTATE},
    # a rotation reloaded by a rollout restart: patch of that one Deployment; port-forward
    "own-files": {**BASE, ("apps", "deployments", ("payment",)): ["patch"],
                  ("", "secrets", ()): ROTATE, ("", "pods/portforward", ()): EXEC},
    # proxy faults only: HTTP to the proxy API
    "network": BASE,
}
ROLE_NAMESPACE = {"default": NAMESPACE, "pause-tls": NAMESPACE, "own-files": "shop-staging",
                  "network": NAMESPACE}


def rules_of(role: dict[str, Any]) -> dict[Key, list[str]]:
    out: dict[Key, list[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                key = (group, resource, tuple(rule.get("resourceNames", [])))
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
        assert all(key[2] for key in expected if key[0] == "apps"), "workloads only by name"
        assert ("pods/exec" in resources) == (value_set == "pause-tls")
        assert ("secrets" in resources) == (value_set in ("pause-tls", "own-files"))
