"""The Inline XBRL route: KVK report packages (``.xbri``), read into the statement model and
checked against the NL-KVK rules."""
