"""Pulumi ComponentResources of nodered-scale: shared ones here, one package per target (docker/, aws/)."""
