# EXPECTED TO FAIL: the teardown after this run must be refused because the bucket has
# prevent_destroy. tests/infra/test_terraform.py runs it and checks for exactly that error;
# it is kept out of tests/ so a plain `terraform test` stays green.

mock_provider "aws" {}

run "protected_bucket_is_created" {
  command = apply

  assert {
    condition     = length(aws_s3_bucket.protected) == 1
    error_message = "The protected variant must exist by default."
  }
}
