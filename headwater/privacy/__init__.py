"""Personal data: pseudonyms (keyed hashes with a key id) and the policy per field."""
