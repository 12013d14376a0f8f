"""AWS operations: the local emulator, S3 ops, SageMaker, registry, costs."""
