"""Self-play: proved seed theorems become new conjectures, a filter keeps the sound, non-trivial,
consistent and new ones, and the loop tries to prove them (issue #10, after STP).

``symbolic`` makes conjectures by rewriting a statement's text; ``filter`` decides which
conjectures (symbolic or from the model conjecturer) are worth proving.
"""
