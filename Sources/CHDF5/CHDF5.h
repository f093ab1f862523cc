/* The HDF5 C library's public header (Debian installs it under /usr/include/hdf5/serial). */
#include <hdf5.h>
