"""Producer logic: Spotify objects in, contract records out. No boto3 here; Spotify access comes in as a
:class:`sori.spotify.sources.Sources` (or client) and records go out through an ``emit`` callable."""
