"""Zelf Deponeren Jaarrekening (ZDJ): web filing with a KVK access code and password.

Rules come from schemas/zdj/rules.json, which quotes the KVK texts they are taken from.
"""
