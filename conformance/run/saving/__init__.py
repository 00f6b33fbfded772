"""Saved-model formats: write the item's model one way, read it back with each loader the running Keras
offers (registry.SAVE_FORMATS names them; one module per format)."""
