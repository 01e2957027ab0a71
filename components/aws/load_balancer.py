"""The Application Load Balancer: <httpNodeRoot> to the workers, everything else (editor, /comms) to the editor."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from nodered_contract import LIVENESS_PATH, PORT, READINESS_PATH, validate_http_node_root

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
WORKERS_RULE_PRIORITY = 10
# Before the workers' rule: instance detail (an instance's /metrics for a scraper inside the VPC, its
# /healthz and /livez for the target groups' health checks, which reach each target directly) is never
# served to the public side. ALB paths are case-sensitive; other spellings reach a target, whose
# launcher answers them only up or down (health) or 404 (metrics) to anything that came through a
# proxy (the ALB always adds X-Forwarded-For).
METRICS_RULE_PRIORITY = 5
METRICS_PATHS = ["/healthz*", "/livez*", "/metrics*"]
METRICS_ANSWER = '{"error":"not served through the router: each instance answers it on its own port"}'


# aws.editorAllowedCidrs: the editor (everything but the workers' paths) is forwarded only by these rules,
# one per EDITOR_CIDRS_PER_RULE addresses (an ALB source-ip condition takes at most 5 values); anyone else
# gets the listener's default answer, a fixed 403. After the workers' rule: flow endpoints follow
# aws.allowedCidrs (the security group) alone.
EDITOR_RULE_PRIORITY = 20
EDITOR_CIDRS_PER_RULE = 5
EDITOR_REFUSED = '{"error":"the editor is not reachable from this address (stack config aws.editorAllowedCidrs)"}'


def worker_paths(http_node_root: str) -> list[str]:
    """Path patterns of the workers' rule: the root itself and everything below it."""
    return [http_node_root, f"{http_node_root}/*"]


@dataclass
class LoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    http_node_root: str
    idle_timeout_seconds: int
    certificate_arn: str | None = None
    # Who may reach the editor; None: whoever reaches the load balancer.
    editor_allowed_cidrs: list[str] | None = None

    def __post_init__(self) -> None:
        try:
            validate_http_node_root(self.http_node_root)
        except ValueError as exc:
            raise ValueError(f"http_node_root: {exc}") from None
        if self.idle_timeout_seconds < 30:
            raise ValueError(
                "idle_timeout_seconds: must exceed the editor websocket's 15 s keep-alive with room to spare"
            )


class LoadBalancer(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    editor_target_group_arn: pulumi.Output[str]
    workers_target_group_arn: pulumi.Output[str]
    # The workers' target group as autoscaling names it for ALBRequestCountPerTarget.
    workers_resource_label: pulumi.Output[str]
    # Services attach to the target groups only once a listener uses them.
    listeners: list[pulumi.Resource]
    scheme: str

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[args.security_group_id],
            # Above the editor websocket's keep-alive (15 s) and the longest HTTP flow.
            idle_timeout=args.idle_timeout_seconds,
            drop_invalid_header_fields=True,
            opts=child,
        )

        def target_group(
            suffix: str, deregistration_delay: int, algorithm: str, health_path: str
        ) -> aws.lb.TargetGroup:
            return aws.lb.TargetGroup(
                f"{name}-{suffix}",
                port=PORT,
                protocol="HTTP",
                target_type="ip",
                vpc_id=args.vpc_id,
                deregistration_delay=deregistration_delay,
                load_balancing_algorithm_type=algorithm,
                health_check=aws.lb.TargetGroupHealthCheckArgs(
                    path=health_path,
                    matcher="200",
                    interval=10,
                    timeout=5,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                ),
                opts=child,
            )

        # Workers: flows differ in duration, so send each request to the least busy worker; 30 s to drain.
        # Workers get flow requests only when ready (their newest flows run); the editor must stay
        # reachable when flows fail to start, since that is where they are fixed: it only needs to be live.
        workers = target_group("workers", 30, "least_outstanding_requests", READINESS_PATH)
        editor = target_group("editor", 10, "round_robin", LIVENESS_PATH)
        forward_editor = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=editor.arn)]
        default_actions = forward_editor
        if args.editor_allowed_cidrs is not None:
            default_actions = [
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="application/json", message_body=EDITOR_REFUSED, status_code="403"
                    ),
                )
            ]

        if args.certificate_arn:
            main = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                certificate_arn=args.certificate_arn,
                ssl_policy=TLS_POLICY,
                default_actions=default_actions,
                opts=pulumi.ResourceOptions(parent=alb),
            )
            redirect = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=pulumi.ResourceOptions(parent=alb),
            )
            self.listeners = [main, redirect]
            self.scheme = "https"
        else:
            main = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=default_actions,
                opts=pulumi.ResourceOptions(parent=alb),
            )
            self.listeners = [main]
            self.scheme = "http"
        rule = aws.lb.ListenerRule(
            f"{name}-workers",
            listener_arn=main.arn,
            priority=WORKERS_RULE_PRIORITY,
            actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=workers.arn)],
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=worker_paths(args.http_node_root))
                )
            ],
            opts=pulumi.ResourceOptions(parent=main),
        )
        self.listeners.append(rule)
        # Named for metrics, its first use; it covers the health paths too.
        metrics = aws.lb.ListenerRule(
            f"{name}-no-metrics",
            listener_arn=main.arn,
            priority=METRICS_RULE_PRIORITY,
            actions=[
                aws.lb.ListenerRuleActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerRuleActionFixedResponseArgs(
                        content_type="application/json", message_body=METRICS_ANSWER, status_code="404"
                    ),
                )
            ],
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=METRICS_PATHS)
                )
            ],
            opts=pulumi.ResourceOptions(parent=main),
        )
        self.listeners.append(metrics)
        cidrs = args.editor_allowed_cidrs or []
        for i in range(0, len(cidrs), EDITOR_CIDRS_PER_RULE):
            chunk = cidrs[i : i + EDITOR_CIDRS_PER_RULE]
            editor_rule = aws.lb.ListenerRule(
                f"{name}-editor-{i // EDITOR_CIDRS_PER_RULE}",
                listener_arn=main.arn,
                priority=EDITOR_RULE_PRIORITY + i // EDITOR_CIDRS_PER_RULE,
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=editor.arn)],
                conditions=[
                    aws.lb.ListenerRuleConditionArgs(source_ip=aws.lb.ListenerRuleConditionSourceIpArgs(values=chunk))
                ],
                opts=pulumi.ResourceOptions(parent=main),
            )
            self.listeners.append(editor_rule)
        self.dns_name = alb.dns_name
        self.editor_target_group_arn = editor.arn
        self.workers_target_group_arn = workers.arn
        self.workers_resource_label = pulumi.Output.concat(alb.arn_suffix, "/", workers.arn_suffix)
        self.register_outputs({"dnsName": self.dns_name})
