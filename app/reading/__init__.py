"""The cardiologists' reading queue: worklist, exactly-once claims with leases, signing, amendments."""
