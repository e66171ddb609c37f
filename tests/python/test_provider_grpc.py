"""Drives the built `pulumi-resource-kjob` binary with the Pulumi Python SDK's own gRPC stubs,
as the engine would: launch contract, Engine.Log, schema, config, Check failures with paths,
Diff, Create (preview and real, against the test bed), Delete, Cancel and SIGINT shutdown."""

import json
import os
import signal
import subprocess
import time
import uuid
from concurrent import futures

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime.proto import engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("KJOB_PROVIDER_BIN", os.path.join(ROOT, "target", "debug", "pulumi-resource-kjob"))
KUBECONFIG = os.environ.get("KJOB_TEST_KUBECONFIG", os.path.join(os.environ.get("KJOB_TESTBED_DIR", "/tmp/kjob-testbed"), "kubeconfig"))
TYPE = "kjob:index:KubernetesJob"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """Records what the provider logs."""

    def __init__(self):
        self.logs = []

    def Log(self, request, context):
        self.logs.append((request.severity, request.message, request.ephemeral, request.urn))
        return empty_pb2.Empty()


@pytest.fixture()
def engine():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    fake = FakeEngine()
    engine_pb2_grpc.add_EngineServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield fake, f"127.0.0.1:{port}"
    server.stop(0)


def launch(*args):
    proc = subprocess.Popen([BINARY, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.isdigit(), f"first stdout line must be the port, got {line!r}"
    channel = grpc.insecure_channel(f"127.0.0.1:{line}")
    grpc.channel_ready_future(channel).result(timeout=10)
    return proc, provider_pb2_grpc.ResourceProviderStub(channel)


@pytest.fixture()
def provider(engine):
    _, address = engine
    proc, stub = launch("--logtostderr", "-v=9", address)
    yield stub
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0


def struct(value):
    s = struct_pb2.Struct()
    s.update(value)
    return s


def urn(name):
    return f"urn:pulumi:test::proj::{TYPE}::{name}"


def configure(stub):
    stub.Configure(provider_pb2.ConfigureRequest(args=struct({"kubeconfig": KUBECONFIG}), acceptSecrets=True, acceptResources=True))


def test_plugin_info_and_schema(provider):
    info = provider.GetPluginInfo(empty_pb2.Empty())
    assert info.version
    schema = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest()).schema)
    assert schema["name"] == "kjob"
    assert TYPE in schema["resources"]


def test_check_config_reports_bad_keys(provider):
    resp = provider.CheckConfig(provider_pb2.CheckRequest(urn="urn:pulumi:test::proj::pulumi:providers:kjob::default", news=struct({"wait": "maybe", "nope": "x"})))
    assert sorted(f.property for f in resp.failures) == ["nope", "wait"]


def test_check_failures_carry_property_paths(provider):
    configure(provider)
    news = struct({"spec": {"namespace": {"value": "Bad NS"}, "restartPolicy": "Always", "env": {"secrets": {"DB_PASSWORD": {"secretRef": {"name": "db"}}}}}})
    resp = provider.Check(provider_pb2.CheckRequest(urn=urn("bad"), news=news, olds=struct({}), name="bad", type=TYPE))
    props = [f.property for f in resp.failures]
    assert props == ["spec.env.secrets.DB_PASSWORD.secretRef.key", "spec.image", "spec.namespace.value", "spec.restartPolicy"]


def test_lifecycle_against_the_test_bed(provider, engine):
    fake, _ = engine
    configure(provider)
    name = f"py-{uuid.uuid4().hex[:8]}"
    ns = f"py-ns-{uuid.uuid4().hex[:8]}"
    news = struct({"spec": {"namespace": {"value": ns}, "createNamespace": True, "image": {"repo": "busybox"},
                            "env": {"secrets": {"TOKEN": {"value": "py-secret-value"}}}}})
    checked = provider.Check(provider_pb2.CheckRequest(urn=urn(name), news=news, olds=struct({}), name=name, type=TYPE))
    assert not checked.failures
    inputs = MessageToDict(checked.inputs)
    assert inputs["spec"]["env"]["secrets"]["TOKEN"]["value"]["4dabf18193072939515e22adb298388d"] == SECRET_SIG

    preview = provider.Create(provider_pb2.CreateRequest(urn=urn(name), properties=checked.inputs, preview=True, name=name, type=TYPE))
    assert preview.id == ""

    created = provider.Create(provider_pb2.CreateRequest(urn=urn(name), properties=checked.inputs, name=name, type=TYPE, timeout=120))
    assert created.id == f"{ns}/{name}"
    outputs = MessageToDict(created.properties)
    assert outputs["namespace"] == ns and outputs["jobName"] == name and outputs["jobStatus"] == "Complete"
    assert any(ephemeral and "Waiting for the Job" in message for _, message, ephemeral, _ in fake.logs), fake.logs
    assert all("py-secret-value" not in message for _, message, _, _ in fake.logs)

    edited = struct({"spec": {"namespace": {"value": ns}, "createNamespace": True, "image": {"repo": "busybox", "tag": "1.37"},
                              "env": {"secrets": {"TOKEN": {"value": "py-secret-value"}}}}})
    new_checked = provider.Check(provider_pb2.CheckRequest(urn=urn(name), news=edited, olds=checked.inputs, name=name, type=TYPE))
    diff = provider.Diff(provider_pb2.DiffRequest(id=created.id, urn=urn(name), olds=created.properties, news=new_checked.inputs, name=name, type=TYPE))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == ["spec"] and diff.deleteBeforeReplace
    assert diff.detailedDiff["spec.image.tag"].kind == provider_pb2.PropertyDiff.ADD_REPLACE

    provider.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn(name), properties=created.properties, name=name, type=TYPE))
    read = provider.Read(provider_pb2.ReadRequest(id=created.id, urn=urn(name), properties=created.properties))
    assert read.id == ""


def test_cancel_shuts_the_provider_down(engine):
    _, address = engine
    proc, stub = launch(address)
    stub.Cancel(empty_pb2.Empty())
    assert proc.wait(timeout=10) == 0


def test_unimplemented_calls_say_so(provider):
    with pytest.raises(grpc.RpcError) as err:
        provider.Invoke(provider_pb2.InvokeRequest(tok="kjob:index:nothing"))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_attach_mode_for_pulumi_debug_providers(engine):
    """PULUMI_DEBUG_PROVIDERS: started with no engine address, the provider serves, and logs to
    the engine that Attach names."""
    fake, address = engine
    proc, stub = launch()
    try:
        stub.Attach(plugin_pb2.PluginAttach(address=address))
        configure(stub)
        name = f"attach-{uuid.uuid4().hex[:8]}"
        ns = f"attach-ns-{uuid.uuid4().hex[:8]}"
        news = struct({"spec": {"namespace": {"value": ns}, "createNamespace": True, "image": {"repo": "busybox"}}})
        checked = stub.Check(provider_pb2.CheckRequest(urn=urn(name), news=news, olds=struct({}), name=name, type=TYPE))
        created = stub.Create(provider_pb2.CreateRequest(urn=urn(name), properties=checked.inputs, name=name, type=TYPE, timeout=120))
        assert any(u == urn(name) for _, _, _, u in fake.logs), "progress reached the attached engine"
        stub.Delete(provider_pb2.DeleteRequest(id=created.id, urn=urn(name), properties=created.properties, name=name, type=TYPE))
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
