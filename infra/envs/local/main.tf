# The same modules as prod, applied to a moto server on 127.0.0.1 (`make infra`).

provider "aws" {
  #checkov:skip=CKV_AWS_41:These are the emulator's fixed test credentials, not a secret. Hard-coding them is deliberate: real credentials from the environment must never be used here.
  region     = var.region
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  # Every service the modules use points at the emulator, so no call can reach AWS.
  endpoints {
    s3         = var.endpoint_url
    iam        = var.endpoint_url
    sts        = var.endpoint_url
    sagemaker  = var.endpoint_url
    cloudwatch = var.endpoint_url
    logs       = var.endpoint_url
    budgets    = var.endpoint_url
  }

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

locals {
  tags = {
    Project     = "pokemon-card-recognition"
    Environment = "local"
    ManagedBy   = "terraform"
  }
}

module "artifact_bucket" {
  source = "../../modules/artifact_bucket"

  bucket_name    = var.bucket_name
  project_prefix = var.project_prefix
  # See the variable's description: on by default everywhere but on the emulator.
  deny_insecure_transport = var.deny_insecure_transport
  # The emulator's data dies with it; nothing here is worth protecting.
  prevent_destroy = false
}

module "model_registry" {
  source = "../../modules/model_registry"
}

module "sagemaker_role" {
  source = "../../modules/sagemaker_role"

  account_id              = data.aws_caller_identity.current.account_id
  region                  = var.region
  bucket_arn              = module.artifact_bucket.bucket_arn
  project_prefix          = module.artifact_bucket.prefix
  kms_key_arn             = module.artifact_bucket.kms_key_arn
  model_package_group_arn = module.model_registry.arn
  metric_namespaces       = ["/aws/sagemaker/*", module.observability.metric_namespace]
}

module "observability" {
  source = "../../modules/observability"

  region      = var.region
  bucket_name = module.artifact_bucket.bucket
  # AWS Budgets is not emulated; the budget is a prod-only option.
  monthly_budget_usd = null
}
