# The project's model registry: every trained/exported model version is registered as a
# model package in this one group (approval status decides what gets deployed).

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.name
  model_package_group_description = var.description
  tags                            = var.tags
}
