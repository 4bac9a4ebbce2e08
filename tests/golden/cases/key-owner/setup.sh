chown 65534 keys/alpha.key
