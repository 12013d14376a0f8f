output "bucket" {
  description = "Bucket name."
  value       = local.bucket_id
}

output "bucket_arn" {
  description = "Bucket ARN."
  value       = local.bucket_arn
}

output "prefix" {
  description = "Project key prefix in the bucket (ends with '/'): the pokecard project root."
  value       = var.project_prefix
}

output "project_arn_prefix" {
  description = "ARN of every object under the project prefix (for IAM policies): arn:...:bucket/prefix/*."
  value       = "${local.bucket_arn}/${var.project_prefix}*"
}

output "sse_algorithm" {
  description = "Default encryption in force: AES256 (SSE-S3) or aws:kms (SSE-KMS)."
  value       = local.sse_kms ? "aws:kms" : "AES256"
}

output "kms_key_arn" {
  description = "The KMS key of the default encryption, or null for SSE-S3."
  value       = var.kms_key_arn
}

output "prevent_destroy" {
  description = "Whether the bucket is the protected (prevent_destroy) variant."
  value       = var.prevent_destroy
}

output "deny_insecure_transport" {
  description = "Whether the deny-non-TLS bucket policy is attached."
  value       = var.deny_insecure_transport
}
