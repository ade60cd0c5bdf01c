#!/bin/sh
# Fails if a file of the pure domain core includes an I/O, database, network or threading header.
dir=${1:?core source dir}
bad=$(grep -nE '#include *[<"](stdio|unistd|fcntl|pthread|libpq-fe|microhttpd|jansson|curl/|openssl/|sys/socket|netdb|segmentd/(log|store|http|db|pool|config|embedded))' \
      "$dir"/*.c "$dir"/../../include/segmentd/core*.h 2>/dev/null)
if [ -n "$bad" ]; then
    echo "core_purity: I/O include in the pure core:"
    echo "$bad"
    exit 1
fi
echo "core_purity: 1 passed, 0 failed"
