terraform {
  required_version = ">= 1.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Exact pin: this is the version in the offline provider mirror (TF_PLUGIN_DIR).
      version = "= 5.100.0"
    }
  }
}
