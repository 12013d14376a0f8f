# Unit tests with a mocked AWS provider: `terraform test` (see tests/infra/test_terraform.py).
# command = apply, because under the mock only apply gives every attribute a value. Applied
# runs use prevent_destroy = false so the test can tear its (mock) resources down; that the
# protected variant really refuses a destroy is shown by tests/prevent_destroy/.

mock_provider "aws" {}

run "default_is_the_protected_variant" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket.protected) == 1 && length(aws_s3_bucket.unprotected) == 0
    error_message = "The default bucket must be the prevent_destroy variant."
  }
  assert {
    condition     = one(aws_s3_bucket.protected).bucket == "pokemon-card-training-us-east-2" && !one(aws_s3_bucket.protected).force_destroy
    error_message = "Default bucket name or force_destroy is wrong."
  }
}

run "defaults_lock_the_bucket_down" {
  command = apply

  variables {
    prevent_destroy = false
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All four public access block settings must be on."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "Object ownership must be BucketOwnerEnforced (ACLs disabled)."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Default encryption must be SSE-S3 when no KMS key is given."
  }
  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "Access logging must be off without access_log_bucket."
  }
  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule :
      length(r.transition) == 1 ? (
        r.status == "Enabled"
        && one(r.filter).prefix == "project/pokemon-card-recognition/profiling/"
        && one(r.transition).days == 90
        && one(r.transition).storage_class == "GLACIER"
      ) : false
    ])
    error_message = "profiling/ under the project prefix must go to GLACIER after 90 days."
  }
  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule :
      length(r.noncurrent_version_expiration) == 1 ? r.status == "Enabled" && one(r.noncurrent_version_expiration).noncurrent_days == 90 : false
    ])
    error_message = "Noncurrent versions must expire (default 90 days)."
  }
  assert {
    condition = anytrue([
      for r in aws_s3_bucket_lifecycle_configuration.this.rule :
      length(r.abort_incomplete_multipart_upload) == 1 ? r.status == "Enabled" && one(r.abort_incomplete_multipart_upload).days_after_initiation == 7 : false
    ])
    error_message = "Incomplete multipart uploads must be aborted after 7 days."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(one(aws_s3_bucket_policy.this).policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*"
      && s.Condition.Bool["aws:SecureTransport"] == "false"
      && length(s.Resource) == 2
    ])
    error_message = "The bucket policy must deny every request made without TLS, on the bucket and its objects."
  }
}

run "tls_policy_can_be_turned_off_for_the_emulator" {
  command = apply

  variables {
    prevent_destroy         = false
    deny_insecure_transport = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0 && !output.deny_insecure_transport
    error_message = "deny_insecure_transport = false must drop the bucket policy."
  }
}

run "kms_unprotected_logging_and_custom_days" {
  command = apply

  variables {
    bucket_name                        = "pokecard-test-bucket"
    kms_key_arn                        = "arn:aws:kms:us-east-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    prevent_destroy                    = false
    access_log_bucket                  = "pokecard-access-logs"
    profiling_glacier_days             = 30
    noncurrent_version_expiration_days = 14
  }

  assert {
    condition     = length(aws_s3_bucket.protected) == 0 && one(aws_s3_bucket.unprotected).bucket == "pokecard-test-bucket"
    error_message = "prevent_destroy = false must select the unprotected variant."
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
      && one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    )
    error_message = "A KMS key must switch default encryption to SSE-KMS with a bucket key."
  }
  assert {
    condition     = one(aws_s3_bucket_logging.this).target_bucket == "pokecard-access-logs"
    error_message = "access_log_bucket must turn on server access logging."
  }
  assert {
    condition     = anytrue([for r in aws_s3_bucket_lifecycle_configuration.this.rule : length(r.transition) == 1 ? one(r.transition).days == 30 : false])
    error_message = "profiling_glacier_days must be honoured."
  }
  assert {
    condition     = output.sse_algorithm == "aws:kms" && output.project_arn_prefix == "${output.bucket_arn}/project/pokemon-card-recognition/*"
    error_message = "Outputs must describe the encryption and the project ARN prefix."
  }
}

run "rejects_absolute_prefix" {
  command = plan

  variables {
    project_prefix = "/project/pokemon-card-recognition/"
  }

  expect_failures = [var.project_prefix]
}

run "rejects_zero_day_transition" {
  command = plan

  variables {
    profiling_glacier_days = 0
  }

  expect_failures = [var.profiling_glacier_days]
}
