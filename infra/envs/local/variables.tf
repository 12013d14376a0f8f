variable "endpoint_url" {
  description = "URL of the local AWS emulator (moto server). Must be a loopback address: this environment never talks to real AWS."
  type        = string
  default     = "http://127.0.0.1:5055"

  validation {
    condition     = can(regex("^https?://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]+)?/?$", var.endpoint_url))
    error_message = "endpoint_url must be a loopback URL such as http://127.0.0.1:5055 (the local environment must never reach real AWS)."
  }
}

variable "region" {
  description = "Region the emulator pretends to be (same as prod, so ARNs look alike)."
  type        = string
  default     = "us-east-2"
}

variable "bucket_name" {
  description = "Artifact bucket name on the emulator."
  type        = string
  default     = "pokemon-card-training-us-east-2"
}

variable "project_prefix" {
  description = "Project key prefix in the bucket."
  type        = string
  default     = "project/pokemon-card-recognition/"
}

variable "deny_insecure_transport" {
  description = "Attach the deny-non-TLS bucket policy. Off by default here: moto 5.x evaluates bucket policies but ignores their conditions, so this Deny would refuse every request, and the emulator only speaks HTTP on loopback anyway. Prod always has it."
  type        = bool
  default     = false
}
