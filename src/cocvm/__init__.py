"""cocvm: a self-hostable, JD Cloud-compatible VM image catalog service."""

__version__ = "0.1.0"
