"""harness: verify a DevOps project against the ST0825 AM1 assessment criteria."""

__version__ = "0.1.0"
