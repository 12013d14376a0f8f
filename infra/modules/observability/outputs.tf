output "log_groups" {
  description = "Managed log groups: short name -> log group name."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.name }
}

output "log_group_arns" {
  description = "Managed log groups: short name -> ARN."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.arn }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_body" {
  description = "The dashboard definition (JSON)."
  value       = aws_cloudwatch_dashboard.this.dashboard_body
}

output "budget_name" {
  description = "Name of the monthly budget, or null when no budget is configured."
  value       = one(aws_budgets_budget.monthly[*].name)
}

output "metric_namespace" {
  description = "Namespace of the project's custom metrics (the role may publish to it)."
  value       = var.metric_namespace
}
