"""The API's request and response models, one module per router: the contract a client relies on.

Every field a client may read is declared; `Open` models (`extra="allow"`) mark the few places
that carry fields defined elsewhere (a record's attributes, by the catalog's record type).
"""
