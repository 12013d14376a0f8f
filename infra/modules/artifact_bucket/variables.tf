variable "bucket_name" {
  description = "Name of the artifact bucket (globally unique)."
  type        = string
  default     = "pokemon-card-training-us-east-2"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "project_prefix" {
  description = "Key prefix under which the project lives in the bucket (the pokecard project root). Ends with '/'."
  type        = string
  default     = "project/pokemon-card-recognition/"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._/-]*/$", var.project_prefix)) && !startswith(var.project_prefix, "/")
    error_message = "project_prefix must be a relative key prefix that ends with '/', e.g. project/pokemon-card-recognition/."
  }
}

variable "profiling_prefix" {
  description = "Sub-prefix (under project_prefix) of the profiler traces that move to Glacier; matches pokecard.layout.profiling_dir()."
  type        = string
  default     = "profiling/"

  validation {
    condition     = endswith(var.profiling_prefix, "/") && !startswith(var.profiling_prefix, "/")
    error_message = "profiling_prefix must be relative and end with '/'."
  }
}

variable "profiling_glacier_days" {
  description = "Days after creation before objects under <project_prefix><profiling_prefix> transition to GLACIER."
  type        = number
  default     = 90

  validation {
    condition     = var.profiling_glacier_days >= 1 && floor(var.profiling_glacier_days) == var.profiling_glacier_days
    error_message = "profiling_glacier_days must be a whole number of days >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after an object version becomes noncurrent (overwritten or deleted) before it is expired for good. This is the recovery window for overwrites and deletes."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days >= 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after initiation before incomplete multipart uploads are aborted (their parts cost storage but are invisible)."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && floor(var.abort_incomplete_multipart_days) == var.abort_incomplete_multipart_days
    error_message = "abort_incomplete_multipart_days must be a whole number of days >= 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key ARN for default encryption (SSE-KMS). null: SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key/alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "access_log_bucket" {
  description = "Name of an existing bucket that receives S3 server access logs for this bucket. null: access logging off."
  type        = string
  default     = null
}

variable "access_log_prefix" {
  description = "Key prefix for the server access logs in access_log_bucket."
  type        = string
  default     = "s3-access-logs/pokemon-card-training/"
}

variable "deny_insecure_transport" {
  description = "Attach the bucket policy that denies every request made without TLS. Keep it on against real AWS; the local environment turns it off because the emulator speaks plain HTTP and moto ignores policy conditions (see infra/README.md)."
  type        = bool
  default     = true
}

variable "prevent_destroy" {
  description = "Refuse any plan that destroys the bucket (Terraform lifecycle prevent_destroy). Turn on wherever the bucket holds data you cannot regenerate (prod)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of this module (merged over the provider's default_tags)."
  type        = map(string)
  default     = {}
}
