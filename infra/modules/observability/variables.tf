variable "log_group_names" {
  description = "CloudWatch log groups to manage, by short name. SageMaker writes training and endpoint logs to these fixed names."
  type        = map(string)
  default = {
    training_jobs = "/aws/sagemaker/TrainingJobs"
    endpoints     = "/aws/sagemaker/Endpoints"
  }

  validation {
    condition     = length(var.log_group_names) > 0 && alltrue([for n in values(var.log_group_names) : can(regex("^[A-Za-z0-9_./#-]{1,512}$", n))])
    error_message = "log_group_names must map short names to valid log group names."
  }
}

variable "log_retention_days" {
  description = "Retention of the log groups in days (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key ARN to encrypt the log groups with. null: CloudWatch Logs' default encryption."
  type        = string
  default     = null
}

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  type        = string
  default     = "pokemon-card-recognition"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.dashboard_name))
    error_message = "dashboard_name must be 1-255 characters of letters, digits, '-' and '_'."
  }
}

variable "region" {
  description = "Region the dashboard's widgets read metrics from."
  type        = string
}

variable "bucket_name" {
  description = "Artifact bucket whose size (S3 daily storage metrics) the dashboard shows."
  type        = string
}

variable "metric_namespace" {
  description = "Namespace of the project's custom metrics (e.g. training loss/recall published by pokecard)."
  type        = string
  default     = "PokemonCardRecognition"
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget for the project in USD. null: no budget (AWS Budgets is not emulated locally)."
  type        = number
  default     = null

  validation {
    condition     = var.monthly_budget_usd == null || try(var.monthly_budget_usd > 0, false)
    error_message = "monthly_budget_usd must be null or a positive amount."
  }
}

variable "budget_alert_emails" {
  description = "E-mail addresses notified when actual spend passes 80% or forecast spend passes 100% of the budget. Required when monthly_budget_usd is set."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.budget_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "budget_alert_emails must be e-mail addresses."
  }
}

variable "budget_cost_filter_tag" {
  description = "Cost allocation tag (key = value) that selects the project's spend for the budget. Activate the tag key in Billing first."
  type        = object({ key = string, value = string })
  default     = { key = "Project", value = "pokemon-card-recognition" }
}

variable "tags" {
  description = "Tags for the log groups and the budget."
  type        = map(string)
  default     = {}
}
