chmod 604 keys/a1.psk
