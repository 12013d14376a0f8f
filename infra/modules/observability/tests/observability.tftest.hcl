mock_provider "aws" {}

variables {
  region      = "us-east-2"
  bucket_name = "pokemon-card-training-us-east-2"
}

run "log_groups_and_dashboard" {
  command = apply

  assert {
    condition = (
      aws_cloudwatch_log_group.this["training_jobs"].name == "/aws/sagemaker/TrainingJobs"
      && aws_cloudwatch_log_group.this["endpoints"].name == "/aws/sagemaker/Endpoints"
    )
    error_message = "The SageMaker training and endpoint log groups must be managed."
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.this : g.retention_in_days == 365])
    error_message = "Every log group must have the retention set (default 365 days)."
  }
  assert {
    condition = anytrue([
      for w in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      w.type == "metric" ? contains(flatten(w.properties.metrics), "BucketSizeBytes") && contains(flatten(w.properties.metrics), var.bucket_name) : false
    ])
    error_message = "The dashboard must chart the bucket's size."
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "/aws/sagemaker/TrainingJobs")
    error_message = "The dashboard must chart training jobs."
  }
  assert {
    condition     = length(aws_budgets_budget.monthly) == 0 && output.budget_name == null
    error_message = "No budget unless monthly_budget_usd is set."
  }
}

run "budget_when_asked" {
  command = apply

  variables {
    monthly_budget_usd  = 50
    budget_alert_emails = ["ml-team@example.com"]
    log_retention_days  = 30
  }

  assert {
    condition = (
      one(aws_budgets_budget.monthly).limit_amount == "50.00"
      && one(aws_budgets_budget.monthly).time_unit == "MONTHLY"
      && one(aws_budgets_budget.monthly).budget_type == "COST"
    )
    error_message = "The budget must be a monthly cost budget of the given amount."
  }
  assert {
    condition     = length(one(aws_budgets_budget.monthly).notification) == 2
    error_message = "The budget must alert on actual and forecast spend."
  }
  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.this : g.retention_in_days == 30])
    error_message = "log_retention_days must be honoured."
  }
}

run "budget_without_emails_is_refused" {
  command = plan

  variables {
    monthly_budget_usd = 50
  }

  expect_failures = [aws_budgets_budget.monthly]
}

run "rejects_unsupported_retention" {
  command = plan

  variables {
    log_retention_days = 42
  }

  expect_failures = [var.log_retention_days]
}
