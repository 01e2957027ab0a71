"""Target-tracking autoscaling of an ECS service's task count on its average CPU."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class ServiceAutoscalingArgs:
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    min: int
    max: int
    target_cpu_percent: int
    # Scale out fast, scale in slowly: losing a worker costs in-flight requests, an extra one costs little.
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.max:
            raise ValueError(f"min ({self.min}) must be at least 1 and not above max ({self.max})")
        if not 1 <= self.target_cpu_percent <= 100:
            raise ValueError(f"target_cpu_percent: {self.target_cpu_percent} is not a percentage")


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
        aws.appautoscaling.Policy(
            f"{name}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ECSServiceAverageCPUUtilization"
                ),
                target_value=float(args.target_cpu_percent),
                scale_out_cooldown=args.scale_out_cooldown_seconds,
                scale_in_cooldown=args.scale_in_cooldown_seconds,
            ),
            opts=pulumi.ResourceOptions(parent=target),
        )
        self.register_outputs({})
