rm -f keys/nothere.key; chmod 644 keys/bravo.next.key
