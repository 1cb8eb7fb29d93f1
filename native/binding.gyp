# node-gyp build of the raw-digest ECDSA addon (inkan-ecdsa.c). It links no library: node
# itself exports OpenSSL's symbols, and node-gyp compiles against the OpenSSL headers that
# ship with node's own headers (include/node/openssl), so the addon uses node's OpenSSL.
{
  "targets": [{
    "target_name": "inkan_ecdsa",
    "sources": ["inkan-ecdsa.c"],
    "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
  }]
}
