"""The double's API through the official client: selectors, UIDs, resourceVersions, PATCH,
the request record. Objects here have no running pods, so these tests need no root."""

from __future__ import annotations

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.k8s.double import Cluster
from tests.k8s.double.patch import json_patch, merge, strategic
from tests.k8s.double.selectors import SelectorError, label_selector


def _core(cluster: Cluster) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))


def _cm(name: str, labels: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels}, "data": {"k": name}}


@pytest.fixture
def filled(k8s_double: Cluster) -> Cluster:
    k8s_double.create_namespace("chaos")
    k8s_double.apply([_cm("a", {"tier": "worker", "index": "0"}),
                      _cm("b", {"tier": "worker", "index": "1"}),
                      _cm("c", {"tier": "broker"}),
                      _cm("d", {})], namespace="chaos")
    return k8s_double


@pytest.mark.parametrize(("selector", "names"), [
    ("tier=worker", ["a", "b"]),
    ("tier==broker", ["c"]),
    ("tier!=worker", ["c", "d"]),
    ("tier in (worker,broker),index notin (1)", ["a", "c"]),
    ("index", ["a", "b"]),
    ("!index", ["c", "d"]),
    ("", ["a", "b", "c", "d"]),
])
def test_lists_filter_by_label_selector(filled: Cluster, selector: str, names: list[str]) -> None:
    found = _core(filled).list_namespaced_config_map("chaos", label_selector=selector)
    assert [i.metadata.name for i in found.items] == names


def test_field_selector_and_bad_selector(filled: Cluster) -> None:
    core = _core(filled)
    found = core.list_namespaced_config_map("chaos", field_selector="metadata.name=b")
    assert [i.metadata.name for i in found.items] == ["b"]
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("chaos", label_selector="tier in worker")
    assert err.value.status == 400


def test_uids_resource_versions_and_conflicts(filled: Cluster) -> None:
    core = _core(filled)
    a = core.read_namespaced_config_map("a", "chaos")
    b = core.read_namespaced_config_map("b", "chaos")
    assert a.metadata.uid != b.metadata.uid
    assert int(b.metadata.resource_version) > int(a.metadata.resource_version)
    patched = core.patch_namespaced_config_map("a", "chaos", {"data": {"k": "new"}})
    assert patched.metadata.uid == a.metadata.uid
    assert int(patched.metadata.resource_version) > int(b.metadata.resource_version)
    a.data = {"k": "stale"}  # PUT with the old resourceVersion
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("a", "chaos", a)
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("chaos", {"metadata": {"name": "a"}})
    assert err.value.status == 409
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("zz", "chaos")
    assert err.value.status == 404


def test_request_record_names_verbs(filled: Cluster) -> None:
    core = _core(filled)
    mark = filled.mark()
    core.list_namespaced_config_map("chaos", label_selector="tier=worker")
    core.read_namespaced_config_map("a", "chaos")
    core.read_namespace("chaos")
    assert filled.writes(since=mark) == []
    core.patch_namespaced_config_map("a", "chaos", {"metadata": {"labels": {"x": "1"}}})
    core.delete_namespaced_config_map("d", "chaos")
    calls = [(r.verb, r.resource, r.name) for r in filled.calls(since=mark)]
    assert calls == [("list", "configmaps", ""), ("get", "configmaps", "a"),
                     ("get", "namespaces", "chaos"), ("patch", "configmaps", "a"),
                     ("delete", "configmaps", "d")]
    assert [r.method for r in filled.writes(since=mark)] == ["PATCH", "DELETE"]


def test_namespace_labels_are_served(filled: Cluster) -> None:
    filled.create_namespace("opted", labels={"pipechaos.io/chaos": "enabled"})
    ns = _core(filled).read_namespace("opted")
    assert ns.metadata.labels["pipechaos.io/chaos"] == "enabled"


def test_selector_parser_refuses_garbage() -> None:
    assert label_selector("a in (x, y)")({"a": "y"})
    with pytest.raises(SelectorError):
        label_selector("!a=b")


def test_patch_flavours() -> None:
    doc = {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]},
           "metadata": {"labels": {"x": "1", "y": "2"}}}
    smp = strategic(doc, {"spec": {"containers": [{"name": "b", "image": "2"}]},
                          "metadata": {"labels": {"x": None}}})
    assert smp["spec"]["containers"] == [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]
    assert smp["metadata"]["labels"] == {"y": "2"}
    mp = merge(doc, {"spec": {"containers": [{"name": "b"}]}})
    assert mp["spec"]["containers"] == [{"name": "b"}]  # a merge patch replaces lists
    jp = json_patch(doc, [{"op": "replace", "path": "/spec/containers/0/image", "value": "9"},
                          {"op": "add", "path": "/metadata/labels/z", "value": "3"}])
    assert jp["spec"]["containers"][0]["image"] == "9"
    assert jp["metadata"]["labels"]["z"] == "3"


def test_watch_follows_the_selection(filled: Cluster) -> None:
    core = _core(filled)
    listed = core.list_namespaced_config_map("chaos", label_selector="tier=worker")
    core.patch_namespaced_config_map("a", "chaos", {"metadata": {"labels": {"tier": "gone"}}})
    core.patch_namespaced_config_map("b", "chaos", {"data": {"k": "2"}})
    core.patch_namespaced_config_map("c", "chaos", {"metadata": {"labels": {"tier": "worker"}}})
    core.delete_namespaced_config_map("b", "chaos")
    events = [(e["type"], e["object"].metadata.name) for e in watch.Watch().stream(
        core.list_namespaced_config_map, "chaos", label_selector="tier=worker",
        resource_version=listed.metadata.resource_version, timeout_seconds=1)]
    assert events == [("DELETED", "a"), ("MODIFIED", "b"), ("ADDED", "c"), ("DELETED", "b")]


def test_delete_honours_preconditions(filled: Cluster) -> None:
    core = _core(filled)
    mark = filled.mark()
    with pytest.raises(ApiException) as err:
        core.delete_namespaced_config_map("a", "chaos", body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid="not-the-uid")))
    assert err.value.status == 409
    assert filled.get("ConfigMap", "chaos", "a") is not None
    uid = core.read_namespaced_config_map("a", "chaos").metadata.uid
    core.delete_namespaced_config_map("a", "chaos", body=client.V1DeleteOptions(
        preconditions=client.V1Preconditions(uid=uid)))
    assert filled.get("ConfigMap", "chaos", "a") is None
    assert [r.verb for r in filled.writes(since=mark)] == ["delete", "delete"]
