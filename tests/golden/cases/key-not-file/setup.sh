rm keys/alpha.key; mkdir keys/alpha.key
