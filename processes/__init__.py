"""The bureau's domain: people, enterprises, projects and who may see what. Knows nothing of
HTTP; the engine knows nothing of this."""
