"""The edge device as a product: bundle, deploy over SSH, self-test, live camera loop.

One module per job: ``bundle`` (one verified archive), ``manifest`` (the stdlib-only
checksum check that also runs on the target), ``deploy`` (atomic releases over SSH with
automatic rollback), ``selftest`` (the health check), ``live`` and ``vote`` (the camera loop).
"""
