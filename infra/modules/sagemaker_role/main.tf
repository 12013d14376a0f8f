# SageMaker execution role with least privilege: the project's prefix in the bucket, its
# log groups, its metric namespaces, image pulls and its model package group. Nothing else.
# Policies are jsonencode()d (not aws_iam_policy_document) so `terraform test` can read them.

locals {
  arn_prefix = "arn:${var.partition}"

  # AWS Deep Learning Containers are published from account 763104351884 in most regions.
  default_ecr_repositories = [
    "${local.arn_prefix}:ecr:${var.region}:763104351884:repository/pytorch-training",
    "${local.arn_prefix}:ecr:${var.region}:763104351884:repository/pytorch-inference",
    "${local.arn_prefix}:ecr:${var.region}:${var.account_id}:repository/pokemon-card-recognition*",
  ]
  ecr_repositories = coalesce(var.ecr_repository_arns, local.default_ecr_repositories)

  log_group_arn  = "${local.arn_prefix}:logs:${var.region}:${var.account_id}:log-group:${var.log_group_prefix}*"
  log_stream_arn = "${local.log_group_arn}:log-stream:*"

  model_package_group_name = element(split("/", var.model_package_group_arn), 1)
  model_packages_arn       = "${local.arn_prefix}:sagemaker:${var.region}:${var.account_id}:model-package/${local.model_package_group_name}/*"

  object_actions = concat(
    ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
    var.allow_object_delete ? ["s3:DeleteObject"] : [],
  )

  statements = concat(
    [
      {
        Sid      = "ListProjectPrefixOnly"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [var.bucket_arn]
        Condition = {
          StringLike = { "s3:prefix" = ["${var.project_prefix}*"] }
        }
      },
      {
        Sid      = "BucketLocation"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation"]
        Resource = [var.bucket_arn]
      },
      {
        Sid      = "ProjectObjects"
        Effect   = "Allow"
        Action   = local.object_actions
        Resource = ["${var.bucket_arn}/${var.project_prefix}*"]
      },
      {
        Sid      = "SageMakerLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
        Resource = [local.log_group_arn, local.log_stream_arn]
      },
      {
        # PutMetricData has no resource-level permissions: AWS requires Resource "*".
        # The namespace condition is what scopes it.
        Sid      = "PublishMetricsInProjectNamespaces"
        Effect   = "Allow"
        Action   = ["cloudwatch:PutMetricData"]
        Resource = ["*"]
        Condition = {
          StringLike = { "cloudwatch:namespace" = var.metric_namespaces }
        }
      },
      {
        # GetAuthorizationToken is account-wide by design: AWS requires Resource "*".
        # The token alone pulls nothing; the statement below scopes which images.
        Sid      = "EcrAuthToken"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = ["*"]
      },
      {
        Sid      = "EcrPullImages"
        Effect   = "Allow"
        Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = local.ecr_repositories
      },
      {
        Sid      = "ModelRegistryGroup"
        Effect   = "Allow"
        Action   = ["sagemaker:DescribeModelPackageGroup"]
        Resource = [var.model_package_group_arn]
      },
      {
        Sid    = "ModelRegistryPackages"
        Effect = "Allow"
        Action = [
          "sagemaker:CreateModelPackage",
          "sagemaker:DescribeModelPackage",
          "sagemaker:UpdateModelPackage",
          "sagemaker:AddTags",
        ]
        Resource = [local.model_packages_arn]
      },
    ],
    var.kms_key_arn == null ? [] : [
      {
        Sid      = "BucketKmsKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.kms_key_arn]
      },
    ],
  )

  policy_document = {
    Version   = "2012-10-17"
    Statement = local.statements
  }

  trust_document = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SageMakerForThisAccountOnly"
        Effect    = "Allow"
        Principal = { Service = "sagemaker.amazonaws.com" }
        Action    = "sts:AssumeRole"
        # Confused-deputy guard: SageMaker may assume the role only for requests made
        # on behalf of this account.
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "SageMaker execution role for pokemon-card-recognition (least privilege; managed by Terraform)."
  assume_role_policy   = jsonencode(local.trust_document)
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_policy" "this" {
  name        = "${var.role_name}-policy"
  description = "Least-privilege access for pokemon-card-recognition SageMaker jobs."
  policy      = jsonencode(local.policy_document)
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}
