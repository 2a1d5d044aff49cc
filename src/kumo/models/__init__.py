"""Quantitative models of the machinery under the cloud OS (power, live migration, ...).

Models are pure: they compute numbers from arrays and never touch simulation state.
"""
