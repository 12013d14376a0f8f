variable "role_name" {
  description = "Name of the SageMaker execution role."
  type        = string
  default     = "pokemon-card-recognition-sagemaker-execution"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1-64 characters of letters, digits and +=,.@_-."
  }
}

variable "account_id" {
  description = "AWS account ID that owns the role; the trust policy only lets SageMaker assume it on behalf of this account (aws:SourceAccount)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account ID."
  }
}

variable "region" {
  description = "Region of the SageMaker jobs, log groups and model registry the role may use."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like us-east-2."
  }
}

variable "partition" {
  description = "AWS partition of the ARNs (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"

  validation {
    condition     = contains(["aws", "aws-cn", "aws-us-gov"], var.partition)
    error_message = "partition must be one of aws, aws-cn, aws-us-gov."
  }
}

variable "bucket_arn" {
  description = "ARN of the artifact bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN (arn:aws:s3:::NAME), without a key."
  }
}

variable "project_prefix" {
  description = "Key prefix the role may list, read and write in the bucket (ends with '/'). Nothing outside it is reachable."
  type        = string
  default     = "project/pokemon-card-recognition/"

  validation {
    condition     = endswith(var.project_prefix, "/") && !startswith(var.project_prefix, "/") && length(trimsuffix(var.project_prefix, "/")) > 0
    error_message = "project_prefix must be a non-empty relative key prefix ending with '/'."
  }
}

variable "allow_object_delete" {
  description = "Grant s3:DeleteObject under the prefix (store sync/rm, checkpoint clean-up). With versioning on, a delete only adds a delete marker; the role never gets s3:DeleteObjectVersion, so deletes stay recoverable for the noncurrent-version window."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key of the bucket's SSE-KMS encryption; the role gets Decrypt/GenerateDataKey on it. null for SSE-S3."
  type        = string
  default     = null
}

variable "model_package_group_arn" {
  description = "ARN of the SageMaker model package group the role may register model versions in."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package-group/[A-Za-z0-9-]+$", var.model_package_group_arn))
    error_message = "model_package_group_arn must be arn:aws:sagemaker:REGION:ACCOUNT:model-package-group/NAME."
  }
}

variable "log_group_prefix" {
  description = "CloudWatch Logs group name prefix the role may write to (SageMaker writes jobs' logs under /aws/sagemaker/)."
  type        = string
  default     = "/aws/sagemaker/"

  validation {
    condition     = startswith(var.log_group_prefix, "/") && endswith(var.log_group_prefix, "/")
    error_message = "log_group_prefix must start and end with '/'."
  }
}

variable "metric_namespaces" {
  description = "CloudWatch metric namespaces the role may publish to (cloudwatch:namespace condition; wildcards allowed)."
  type        = list(string)
  default     = ["/aws/sagemaker/*", "PokemonCardRecognition"]

  validation {
    condition     = length(var.metric_namespaces) > 0 && alltrue([for n in var.metric_namespaces : n != "*"])
    error_message = "metric_namespaces must name at least one namespace and must not be a bare '*'."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories the role may pull training/inference images from. null: the AWS Deep Learning Containers PyTorch repositories of the region (account 763104351884) and this account's pokemon-card-recognition* repositories."
  type        = list(string)
  default     = null

  validation {
    condition     = var.ecr_repository_arns == null || alltrue([for a in coalesce(var.ecr_repository_arns, []) : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", a))])
    error_message = "ecr_repository_arns must be ECR repository ARNs (arn:aws:ecr:REGION:ACCOUNT:repository/NAME)."
  }
}

variable "max_session_duration" {
  description = "Maximum session length in seconds (SageMaker training jobs longer than this refresh credentials themselves)."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration >= 3600 && var.max_session_duration <= 43200
    error_message = "max_session_duration must be between 3600 and 43200 seconds."
  }
}

variable "tags" {
  description = "Tags for the role and its policy."
  type        = map(string)
  default     = {}
}
