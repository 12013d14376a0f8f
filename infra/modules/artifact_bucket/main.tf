# The project's artifact bucket: everything pokecard writes under <bucket>/<project_prefix>.
#
# Terraform lifecycle blocks cannot read variables, so `prevent_destroy` is made
# configurable with two variants of the bucket resource selected by count: exactly one
# exists. Switching an existing bucket between them is a state move, never a re-create:
#   terraform state mv 'module.X.aws_s3_bucket.unprotected[0]' 'module.X.aws_s3_bucket.protected[0]'

locals {
  bucket_id  = one(concat(aws_s3_bucket.protected[*].id, aws_s3_bucket.unprotected[*].id))
  bucket_arn = one(concat(aws_s3_bucket.protected[*].arn, aws_s3_bucket.unprotected[*].arn))
  sse_kms    = var.kms_key_arn != null
}

resource "aws_s3_bucket" "protected" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a cost decision for later; versioning + prevent_destroy protect the data now.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default on purpose (no per-request KMS cost); pass kms_key_arn to get SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications in this project.
  #checkov:skip=CKV_AWS_18:Server access logging is optional (access_log_bucket); it needs a separate log bucket.
  count = var.prevent_destroy ? 1 : 0

  bucket        = var.bucket_name
  force_destroy = false
  tags          = var.tags

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket" "unprotected" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a cost decision for later; versioning protects the data now.
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default on purpose (no per-request KMS cost); pass kms_key_arn to get SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications in this project.
  #checkov:skip=CKV_AWS_18:Server access logging is optional (access_log_bucket); it needs a separate log bucket.
  #checkov:skip=CKV_AWS_21:Versioning is the shared aws_s3_bucket_versioning below; checkov links local.bucket_id only to the protected variant. Asserted for this variant by tests/artifact_bucket.tftest.hcl and the moto integration test.
  #checkov:skip=CKV2_AWS_6:Public access block is the shared resource below (same graph limitation as CKV_AWS_21); asserted by the same tests.
  #checkov:skip=CKV2_AWS_61:Lifecycle configuration is the shared resource below (same graph limitation as CKV_AWS_21); asserted by the same tests.
  count = var.prevent_destroy ? 0 : 1

  bucket        = var.bucket_name
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = local.bucket_id

  rule {
    # ACLs disabled: the bucket owner owns every object, access is decided by policy only.
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = local.bucket_id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = local.bucket_id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = local.bucket_id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    # S3 Bucket Keys cut KMS request costs; meaningless (and ignored) for SSE-S3.
    bucket_key_enabled = local.sse_kms
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.deny_insecure_transport ? 1 : 0

  bucket = local.bucket_id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.bucket_arn, "${local.bucket_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  # A policy with Principal "*" (even a Deny) is only accepted once the public access
  # block exists; ordering them avoids a race on first apply.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = local.bucket_id

  rule {
    id     = "profiling-to-glacier"
    status = "Enabled"

    filter {
      prefix = "${var.project_prefix}${var.profiling_prefix}"
    }

    transition {
      days          = var.profiling_glacier_days
      storage_class = "GLACIER"
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  # Noncurrent-version rules need versioning in place first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = local.bucket_id
  target_bucket = var.access_log_bucket
  target_prefix = var.access_log_prefix
}
