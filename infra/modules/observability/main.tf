# Logs, a dashboard and (optionally) a budget for the project's SageMaker work.

locals {
  training_namespace = "/aws/sagemaker/TrainingJobs"

  dashboard = {
    widgets = [
      {
        type   = "metric"
        x      = 0
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Training jobs: GPU and CPU utilization"
          region = var.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = [
            [{ expression = "SEARCH('{${local.training_namespace},Host} MetricName=\"GPUUtilization\"', 'Average', 300)", id = "gpu", label = "GPU %" }],
            [{ expression = "SEARCH('{${local.training_namespace},Host} MetricName=\"CPUUtilization\"', 'Average', 300)", id = "cpu", label = "CPU %" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 0
        width  = 12
        height = 6
        properties = {
          title  = "Training jobs: memory and disk"
          region = var.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = [
            [{ expression = "SEARCH('{${local.training_namespace},Host} MetricName=\"GPUMemoryUtilization\"', 'Average', 300)", id = "gpumem", label = "GPU memory %" }],
            [{ expression = "SEARCH('{${local.training_namespace},Host} MetricName=\"DiskUtilization\"', 'Average', 300)", id = "disk", label = "Disk %" }],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Artifact bucket size (bytes, daily)"
          region = var.region
          view   = "timeSeries"
          stat   = "Average"
          period = 86400
          metrics = [
            ["AWS/S3", "BucketSizeBytes", "BucketName", var.bucket_name, "StorageType", "StandardStorage"],
            ["AWS/S3", "BucketSizeBytes", "BucketName", var.bucket_name, "StorageType", "GlacierStorage"],
          ]
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Artifact bucket objects (daily)"
          region = var.region
          view   = "timeSeries"
          stat   = "Average"
          period = 86400
          metrics = [
            ["AWS/S3", "NumberOfObjects", "BucketName", var.bucket_name, "StorageType", "AllStorageTypes"],
          ]
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 24
        height = 6
        properties = {
          title  = "Project metrics (${var.metric_namespace})"
          region = var.region
          view   = "timeSeries"
          stat   = "Average"
          period = 300
          metrics = [
            [{ expression = "SEARCH('Namespace=\"${var.metric_namespace}\"', 'Average', 300)", id = "project", label = "" }],
          ]
        }
      },
      {
        type   = "log"
        x      = 0
        y      = 18
        width  = 24
        height = 6
        properties = {
          title  = "Training jobs: recent errors"
          region = var.region
          view   = "table"
          query  = "SOURCE '${var.log_group_names["training_jobs"]}' | fields @timestamp, @logStream, @message | filter @message like /(?i)(error|exception|traceback)/ | sort @timestamp desc | limit 50"
        }
      },
    ]
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:KMS for the log groups is optional (log_kms_key_arn); CloudWatch Logs encrypts at rest by default.
  for_each = var.log_group_names

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.dashboard_name
  dashboard_body = jsonencode(local.dashboard)

  lifecycle {
    precondition {
      condition     = contains(keys(var.log_group_names), "training_jobs")
      error_message = "log_group_names must contain a training_jobs entry: the dashboard queries it."
    }
  }
}

resource "aws_budgets_budget" "monthly" {
  count = var.monthly_budget_usd == null ? 0 : 1

  name         = "${var.dashboard_name}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:${var.budget_cost_filter_tag.key}$${var.budget_cost_filter_tag.value}"]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.budget_alert_emails
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.budget_alert_emails) > 0
      error_message = "monthly_budget_usd is set but budget_alert_emails is empty: a budget nobody hears about protects nothing."
    }
  }
}
