"""Digests: `digest daily|weekly|off|show` added to each family (`commands`), when they run (`schedule`), what they
say (`gathering`, `views`, the weekly `chart`) and how they go out (`sending`, which the scheduler calls)."""
