"""The grab role: one capture loop per camera, publishing encoded frames to Redis.

Nothing in this package imports Dash.
"""
