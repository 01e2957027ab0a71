"""aws target: the load balancer sends <httpNodeRoot> to the workers and the rest to the editor."""

import json

import pytest

from .aws_helpers import (
    LISTENER,
    LOAD_BALANCER,
    PLAIN_HTTP,
    arn,
    ingress_sources,
    listener_rule,
    run_example,
    security_group,
    target_group,
)

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
NODE_RED_WEBSOCKET_KEEPALIVE_SECONDS = 15  # Node-RED's default webSocketKeepAliveTime; settings.js keeps it


@pytest.mark.parametrize("root", ["/red-nodes", "/api/v1"])
def test_worker_rule_matches_the_node_root_and_below_and_forwards_to_workers(root):
    program = run_example(httpNodeRoot=root)
    rule = listener_rule(program, "workers")
    [condition] = rule.inputs["conditions"]
    assert sorted(condition["pathPattern"]["values"]) == sorted([root, f"{root}/*"])
    [action] = rule.inputs["actions"]
    assert (action["type"], action["targetGroupArn"]) == ("forward", arn(target_group(program, "workers")))
    assert program.output("apiBaseUrl").endswith(root)


def test_everything_else_goes_to_the_editor():
    program = run_example()
    listener = next(lst for lst in program.of_type(LISTENER) if lst.inputs["port"] == 443)
    [default] = listener.inputs["defaultActions"]
    assert (default["type"], default["targetGroupArn"]) == ("forward", arn(target_group(program, "editor")))
    rule = listener_rule(program, "workers")
    assert rule.inputs["listenerArn"] == arn(listener)


@pytest.mark.parametrize("suffix,path", [("editor", "/livez"), ("workers", "/healthz")])
def test_target_groups_check_health_on_the_node_red_port(suffix, path):
    """Workers get flow requests only when ready (/healthz: their newest flows run). The editor only
    needs to be live (/livez): flows that fail to start must not take away the editor that fixes them."""
    group = target_group(run_example(), suffix)
    assert (group.inputs["port"], group.inputs["protocol"], group.inputs["targetType"]) == (1880, "HTTP", "ip")
    assert group.inputs["healthCheck"]["path"] == path
    assert group.inputs["healthCheck"]["matcher"] == "200"


def test_idle_timeout_outlasts_the_editor_websocket_keepalive():
    alb = run_example().one(LOAD_BALANCER)
    assert alb.inputs["idleTimeout"] > 2 * NODE_RED_WEBSOCKET_KEEPALIVE_SECONDS
    assert run_example(aws={"idleTimeoutSeconds": 600}).one(LOAD_BALANCER).inputs["idleTimeout"] == 600


def test_plain_http_without_a_certificate_when_asked_for():
    program = run_example(aws=PLAIN_HTTP)
    [listener] = program.of_type(LISTENER)
    assert (listener.inputs["port"], listener.inputs["protocol"]) == (80, "HTTP")
    assert "certificateArn" not in listener.inputs
    assert {port for port, _ in ingress_sources(program, security_group(program, "alb"))} == {80}
    assert program.output("editorUrl").startswith("http://")


def test_https_with_a_certificate_and_http_redirected():
    program = run_example(aws={"certificateArn": CERTIFICATE, "domainName": "nodered.example.com"})
    listeners = {lst.inputs["port"]: lst for lst in program.of_type(LISTENER)}
    assert set(listeners) == {80, 443}
    https = listeners[443]
    assert (https.inputs["protocol"], https.inputs["certificateArn"]) == ("HTTPS", CERTIFICATE)
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    [redirect] = listeners[80].inputs["defaultActions"]
    assert redirect["type"] == "redirect"
    assert (redirect["redirect"]["protocol"], redirect["redirect"]["port"], redirect["redirect"]["statusCode"]) == (
        "HTTPS",
        "443",
        "HTTP_301",
    )
    # Workers' rule on the HTTPS listener, not on the redirecting one.
    rule = listener_rule(program, "workers")
    assert rule.inputs["listenerArn"] == arn(https)
    assert {port for port, _ in ingress_sources(program, security_group(program, "alb"))} == {80, 443}
    assert program.output("editorUrl") == "https://nodered.example.com/"
    assert program.output("apiBaseUrl") == "https://nodered.example.com/red-nodes"


@pytest.mark.parametrize("aws", [PLAIN_HTTP, {"certificateArn": CERTIFICATE, "domainName": "nodered.example.com"}])
def test_metrics_are_answered_by_the_load_balancer_never_by_a_target(aws):
    """Guards: every instance's /metrics (flow routes, revisions, memory) readable from the internet
    through the ALB, which sends every path it has no rule for to the editor."""
    program = run_example(aws=aws)
    rule = listener_rule(program, "no-metrics")
    main = next(lst for lst in program.of_type(LISTENER) if lst.inputs["port"] == (80 if aws is PLAIN_HTTP else 443))
    assert rule.inputs["listenerArn"] == arn(main)
    [condition] = rule.inputs["conditions"]
    # The health paths too: the target groups' health checks reach each target directly, and the
    # public answer reveals nothing about the instances.
    assert sorted(condition["pathPattern"]["values"]) == ["/healthz*", "/livez*", "/metrics*"]
    [action] = rule.inputs["actions"]
    assert action["type"] == "fixed-response" and "targetGroupArn" not in action
    assert action["fixedResponse"]["statusCode"] == "404"
    assert action["fixedResponse"]["contentType"] == "application/json"
    assert "error" in json.loads(action["fixedResponse"]["messageBody"])
    # Evaluated before the workers' rule (lower priority number first), so no root can shadow it.
    assert rule.inputs["priority"] < listener_rule(program, "workers").inputs["priority"]
