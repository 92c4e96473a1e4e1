"""The core: plain objects every layer shares (settings and their one constraint table, the
network and training specs, errors). It imports nothing of nnbin outside itself and no YAML,
pydantic or TensorFlow."""
