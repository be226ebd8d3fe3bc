"""Annotations: Label Studio exports and labeling config, schema checks, inline gold markup, agreement, conversion to IOB2, CoNLL."""
