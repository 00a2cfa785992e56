"""ivifdata: raw IVIF dataset folders -> validated catalog -> recipe-driven training shards."""

__version__ = "0.1.0"
