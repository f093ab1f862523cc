#!/usr/bin/env bash
# Installs Debian's libtcc-dev when its header is missing (sourced by the set-up commands).
if [ ! -f /usr/include/libtcc.h ]; then
    echo "installing libtcc-dev (Debian) ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q libtcc-dev || { apt-get update -q && apt-get install -y -q libtcc-dev; }
fi
