#!/usr/bin/env bash
# Installs the Debian packages GraphJIT links when their headers are missing (sourced by the set-up
# commands): libtcc-dev (the instant tier's compiler) and libhdf5-dev (Keras's model.weights.h5).
missing=()
[ -f /usr/include/libtcc.h ] || missing+=(libtcc-dev)
[ -f /usr/include/hdf5/serial/hdf5.h ] || missing+=(libhdf5-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
fi
