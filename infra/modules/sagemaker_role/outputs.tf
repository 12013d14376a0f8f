output "role_arn" {
  description = "ARN of the SageMaker execution role (pass it as `role` to SageMaker jobs)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the SageMaker execution role."
  value       = aws_iam_role.this.name
}

output "policy_arn" {
  description = "ARN of the role's customer-managed policy."
  value       = aws_iam_policy.this.arn
}

output "policy_json" {
  description = "The role's policy document (JSON), for review."
  value       = jsonencode(local.policy_document)
}
