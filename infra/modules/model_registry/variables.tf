variable "name" {
  description = "Name of the SageMaker model package group (the model registry of the project)."
  type        = string
  default     = "pokemon-card-recognition-models"

  validation {
    condition     = can(regex("^[A-Za-z0-9](-*[A-Za-z0-9]){0,62}$", var.name))
    error_message = "name must be 1-63 characters of letters, digits and single hyphens, starting with a letter or digit."
  }
}

variable "description" {
  description = "Description shown in the SageMaker model registry."
  type        = string
  default     = "Pokemon card recognition: distilled efficientnet_lite0 student embedders (ONNX/HEF) and their DINOv3 teachers."

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 1024
    error_message = "description must be 1-1024 characters."
  }
}

variable "tags" {
  description = "Tags for the model package group."
  type        = map(string)
  default     = {}
}
