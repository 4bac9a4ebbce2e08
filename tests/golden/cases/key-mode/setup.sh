chmod 644 keys/alpha.key; chmod 640 keys/bravo.key
