"""nova_core.sim.synth: synthetic, format-correct artifacts for chips without real ones at hand.

Builders here write NVIDIA's formats from the facts in ``shared/reference/nvidia-facts.md`` (the same
facts the driver parses), so every chip can be simulated end to end without a ROM dump or a firmware
package. Output that comes from here is always labelled synthetic by the tools that show it.
"""
