"""Target-tracking autoscaling of an ECS service's task count: on its average CPU, and optionally on the load
balancer's requests per target (HTTP flows that mostly wait on other services load a worker without using its
CPU). With both, ECS keeps the larger count either asks for: scale out on the first, scale in only when both
allow."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

Policy = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
Metric = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs


@dataclass
class ServiceAutoscalingArgs:
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    min: int
    max: int
    target_cpu_percent: int
    # Requests a minute per task (the ALB's RequestCountPerTarget) and the target group's resource label
    # (app/<alb>/<id>/targetgroup/<tg>/<id>); None: CPU only.
    requests_per_target: int | None = None
    request_resource_label: pulumi.Input[str] | None = None
    # What the request policy waits for: the listener rule that attaches the target group to the load balancer
    # (AWS refuses the policy's resource label before).
    depends_on: list[pulumi.Resource] | None = None
    # Scale out fast, scale in slowly: losing a worker costs in-flight requests, an extra one costs little.
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.max:
            raise ValueError(f"min ({self.min}) must be at least 1 and not above max ({self.max})")
        if not 1 <= self.target_cpu_percent <= 100:
            raise ValueError(f"target_cpu_percent: {self.target_cpu_percent} is not a percentage")
        if (self.requests_per_target is None) != (self.request_resource_label is None):
            raise ValueError("requests_per_target and request_resource_label go together")


class ServiceAutoscaling(pulumi.ComponentResource):
    def __init__(self, name: str, args: ServiceAutoscalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:ServiceAutoscaling", name, None, opts)
        target = aws.appautoscaling.Target(
            f"{name}-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", args.service_name),
            min_capacity=args.min,
            max_capacity=args.max,
            opts=pulumi.ResourceOptions(parent=self),
        )

        def policy(suffix: str, metric: Metric, value: int, depends_on=None) -> None:
            aws.appautoscaling.Policy(
                f"{name}-{suffix}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=Policy(
                    predefined_metric_specification=metric,
                    target_value=float(value),
                    scale_out_cooldown=args.scale_out_cooldown_seconds,
                    scale_in_cooldown=args.scale_in_cooldown_seconds,
                ),
                opts=pulumi.ResourceOptions(parent=target, depends_on=depends_on),
            )

        policy("cpu", Metric(predefined_metric_type="ECSServiceAverageCPUUtilization"), args.target_cpu_percent)
        if args.requests_per_target is not None:
            metric = Metric(
                predefined_metric_type="ALBRequestCountPerTarget", resource_label=args.request_resource_label
            )
            policy("requests", metric, args.requests_per_target, depends_on=args.depends_on)
        self.register_outputs({})
