"""Pseudonymised views: keyed tokens, what of a DICOM object a pseudonymised caller may see, and how.

keys.py        the operator's secret, and each principal's key derived from it
pseudonyms.py  tokens (UIDs, IDs, names) and per-patient date offsets under one principal's key
annex_e.py     which attributes are kept, tokenised, shifted or removed (PS3.15 Annex E)
text.py        free text with a patient's identifiers replaced and dates shifted
pixels.py      which images may be shown (burned-in text is rare)
disclosure.py  what one call has learnt about the identities it touched (filled by the sandbox)
"""
