mock_provider "aws" {}

run "default_group" {
  command = apply

  variables {
    tags = { Project = "pokemon-card-recognition" }
  }

  assert {
    condition     = aws_sagemaker_model_package_group.this.model_package_group_name == "pokemon-card-recognition-models"
    error_message = "The group must be named pokemon-card-recognition-models."
  }
  assert {
    condition     = length(aws_sagemaker_model_package_group.this.model_package_group_description) > 0
    error_message = "The group must have a description."
  }
  assert {
    condition     = aws_sagemaker_model_package_group.this.tags["Project"] == "pokemon-card-recognition"
    error_message = "Tags must reach the group."
  }
  assert {
    condition     = output.name == "pokemon-card-recognition-models" && output.arn == aws_sagemaker_model_package_group.this.arn
    error_message = "Outputs must expose the group's name and ARN."
  }
}

run "rejects_invalid_name" {
  command = plan

  variables {
    name = "bad_name_with_underscores"
  }

  expect_failures = [var.name]
}
