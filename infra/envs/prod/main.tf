# Production: us-east-2 with real credentials (AWS_PROFILE or the usual chain).
# State is local (terraform.tfstate here, gitignored) unless you opt into the S3 backend:
# see infra/README.md ("Remote state"), which adds backend_override.tf via TF_BACKEND_CONFIG.

provider "aws" {
  region              = var.region
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags = {
    Project     = "pokemon-card-recognition"
    Environment = "prod"
    ManagedBy   = "terraform"
  }
}

module "artifact_bucket" {
  source = "../../modules/artifact_bucket"

  bucket_name                        = var.bucket_name
  project_prefix                     = var.project_prefix
  prevent_destroy                    = var.prevent_destroy
  kms_key_arn                        = var.kms_key_arn
  access_log_bucket                  = var.access_log_bucket
  profiling_glacier_days             = var.profiling_glacier_days
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

module "model_registry" {
  source = "../../modules/model_registry"
}

module "sagemaker_role" {
  source = "../../modules/sagemaker_role"

  account_id              = data.aws_caller_identity.current.account_id
  partition               = data.aws_partition.current.partition
  region                  = var.region
  bucket_arn              = module.artifact_bucket.bucket_arn
  project_prefix          = module.artifact_bucket.prefix
  kms_key_arn             = module.artifact_bucket.kms_key_arn
  model_package_group_arn = module.model_registry.arn
  metric_namespaces       = ["/aws/sagemaker/*", module.observability.metric_namespace]
}

module "observability" {
  source = "../../modules/observability"

  region              = var.region
  bucket_name         = module.artifact_bucket.bucket
  log_retention_days  = var.log_retention_days
  monthly_budget_usd  = var.monthly_budget_usd
  budget_alert_emails = var.budget_alert_emails
}
