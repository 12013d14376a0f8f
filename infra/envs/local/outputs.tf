# `make infra` flattens these into infra/outputs/local.json, which pokecard.config reads.

output "bucket" {
  description = "Artifact bucket name."
  value       = module.artifact_bucket.bucket
}

output "prefix" {
  description = "Project prefix in the bucket."
  value       = module.artifact_bucket.prefix
}

output "region" {
  description = "AWS region."
  value       = var.region
}

output "endpoint_url" {
  description = "Emulator endpoint every AWS client must use for this environment."
  value       = var.endpoint_url
}

output "role_arn" {
  description = "SageMaker execution role ARN."
  value       = module.sagemaker_role.role_arn
}

output "model_package_group" {
  description = "SageMaker model package group (the model registry)."
  value       = module.model_registry.name
}

output "model_package_group_arn" {
  description = "ARN of the model package group."
  value       = module.model_registry.arn
}

output "log_groups" {
  description = "CloudWatch log groups: short name -> name."
  value       = module.observability.log_groups
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = module.observability.dashboard_name
}

output "bucket_arn" {
  description = "Artifact bucket ARN."
  value       = module.artifact_bucket.bucket_arn
}

output "metric_namespace" {
  description = "CloudWatch namespace for the project's custom metrics."
  value       = module.observability.metric_namespace
}
