"""Milepost's pure rules: every number and finding the product shows is computed here.

No Django, no I/O (a test enforces it). Inputs and outputs are plain dataclasses from
`milepost.engine.model`; every result carries an `Explanation`.
"""
