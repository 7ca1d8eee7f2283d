"""Spotify access: budgeted spotipy client (:mod:`.client`), capability probe (:mod:`.capabilities`) and data
sources with named fallbacks (:mod:`.sources`)."""
