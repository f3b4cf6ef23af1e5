"""Audio devices, capture, playback, voice activity and echo handling."""
