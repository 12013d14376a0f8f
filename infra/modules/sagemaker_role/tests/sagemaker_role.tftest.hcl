# Unit tests with a mocked AWS provider. The policies are jsonencode()d in main.tf, so they
# can be decoded and checked statement by statement here.

mock_provider "aws" {
  # The attachment validates policy_arn, so the mock must hand out a well-formed ARN.
  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/pokemon-card-recognition-sagemaker-execution-policy"
    }
  }
}

variables {
  account_id              = "123456789012"
  region                  = "us-east-2"
  bucket_arn              = "arn:aws:s3:::pokemon-card-training-us-east-2"
  model_package_group_arn = "arn:aws:sagemaker:us-east-2:123456789012:model-package-group/pokemon-card-recognition-models"
}

run "default_policy_is_least_privilege" {
  command = apply

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role.this.assume_role_policy).Statement :
      s.Effect == "Allow" && s.Principal == { Service = "sagemaker.amazonaws.com" } && s.Action == "sts:AssumeRole"
      && try(s.Condition.StringEquals["aws:SourceAccount"] == "123456789012", false)
    ])
    error_message = "Only sagemaker.amazonaws.com may assume the role, and only for this account (aws:SourceAccount)."
  }
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_policy.this.policy).Statement : [for a in s.Action : !strcontains(a, "*")]
    ]))
    error_message = "No action may contain a wildcard."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_policy.this.policy).Statement : [for a in s.Action : a if contains(s.Resource, "*")]
    ])) == toset(["cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"])
    error_message = "Resource \"*\" is allowed only for cloudwatch:PutMetricData and ecr:GetAuthorizationToken (AWS offers no resource-level scoping for them)."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement : s.Effect == "Allow"
    ])
    error_message = "The execution policy only grants; denies belong in the bucket policy."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.this.policy_arn == aws_iam_policy.this.arn && aws_iam_role_policy_attachment.this.role == aws_iam_role.this.name
    error_message = "Exactly the project's own policy is attached (no AWS *FullAccess policies)."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      s.Action == ["s3:ListBucket"] && s.Resource == ["arn:aws:s3:::pokemon-card-training-us-east-2"]
      && try(s.Condition.StringLike["s3:prefix"] == ["project/pokemon-card-recognition/*"], false)
    ])
    error_message = "ListBucket must be conditioned on s3:prefix under the project prefix."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      s.Resource == ["arn:aws:s3:::pokemon-card-training-us-east-2/project/pokemon-card-recognition/*"]
      if anytrue([for a in s.Action : contains(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], a)])
    ])
    error_message = "Object access must be limited to keys under the project prefix."
  }
  assert {
    condition = !anytrue(flatten([
      for s in jsondecode(aws_iam_policy.this.policy).Statement : [for a in s.Action : contains(["s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:DeleteBucket"], a)]
    ]))
    error_message = "The role must not delete object versions or change/delete the bucket."
  }
  assert {
    condition     = contains(flatten([for s in jsondecode(aws_iam_policy.this.policy).Statement : s.Action]), "s3:DeleteObject")
    error_message = "By default the role may delete (versioned, recoverable) objects under the prefix."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      alltrue([for r in s.Resource : startswith(r, "arn:aws:logs:us-east-2:123456789012:log-group:/aws/sagemaker/")])
      if anytrue([for a in s.Action : startswith(a, "logs:")])
    ])
    error_message = "CloudWatch Logs access must be limited to /aws/sagemaker/* log groups."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      s.Action == ["cloudwatch:PutMetricData"] && try(length(s.Condition.StringLike["cloudwatch:namespace"]) > 0, false)
    ])
    error_message = "PutMetricData must carry a cloudwatch:namespace condition."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      alltrue([for r in s.Resource : startswith(r, "arn:aws:ecr:us-east-2:")])
      if contains(s.Action, "ecr:BatchGetImage")
    ])
    error_message = "Image pulls must be limited to named ECR repositories."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      alltrue([for r in s.Resource : strcontains(r, "pokemon-card-recognition-models")])
      if anytrue([for a in s.Action : startswith(a, "sagemaker:")])
    ])
    error_message = "SageMaker actions must be limited to the project's model package group and its packages."
  }
}

run "no_delete_and_kms_key" {
  command = apply

  variables {
    allow_object_delete = false
    kms_key_arn         = "arn:aws:kms:us-east-2:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = !contains(flatten([for s in jsondecode(aws_iam_policy.this.policy).Statement : s.Action]), "s3:DeleteObject")
    error_message = "allow_object_delete = false must remove s3:DeleteObject."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_iam_policy.this.policy).Statement :
      s.Resource == [var.kms_key_arn] && contains(s.Action, "kms:Decrypt")
    ])
    error_message = "An SSE-KMS bucket key must be usable by the role (and only that key)."
  }
}

run "rejects_bad_account_id" {
  command = plan

  variables {
    account_id = "12345"
  }

  expect_failures = [var.account_id]
}

run "rejects_bare_star_namespace" {
  command = plan

  variables {
    metric_namespaces = ["*"]
  }

  expect_failures = [var.metric_namespaces]
}
