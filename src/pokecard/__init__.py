"""pokecard: recognize Pokemon trading cards from a camera, at the edge and on any CPU."""

__version__ = "0.1.0"
