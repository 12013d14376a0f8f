variable "region" {
  description = "Region of the production footprint."
  type        = string
  default     = "us-east-2"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like us-east-2."
  }
}

variable "allowed_account_ids" {
  description = "If set, Terraform refuses to run against any other account (guards against the wrong AWS profile)."
  type        = list(string)
  default     = null
}

variable "bucket_name" {
  description = "Artifact bucket name."
  type        = string
  default     = "pokemon-card-training-us-east-2"
}

variable "project_prefix" {
  description = "Project key prefix in the bucket."
  type        = string
  default     = "project/pokemon-card-recognition/"
}

variable "prevent_destroy" {
  description = "Protect the bucket from `terraform destroy` (see modules/artifact_bucket/README.md before turning it off)."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS on the bucket; null keeps SSE-S3."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Existing bucket for S3 server access logs; null turns access logging off."
  type        = string
  default     = null
}

variable "profiling_glacier_days" {
  description = "Days before profiler traces move to GLACIER."
  type        = number
  default     = 90
}

variable "noncurrent_version_expiration_days" {
  description = "Days overwritten/deleted object versions are kept (the recovery window)."
  type        = number
  default     = 90
}

variable "log_retention_days" {
  description = "Retention of the SageMaker log groups in days."
  type        = number
  default     = 365
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in USD; null for no budget."
  type        = number
  default     = null
}

variable "budget_alert_emails" {
  description = "Who hears about the budget (required with monthly_budget_usd)."
  type        = list(string)
  default     = []
}
