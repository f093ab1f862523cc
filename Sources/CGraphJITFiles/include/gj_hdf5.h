/*
 * gj_hdf5.h - the small C layer between GraphJIT's Swift HDF5 reader/writer and libhdf5.
 *
 * Swift cannot import HDF5's `H5T_NATIVE_*`, `H5P_DEFAULT` or `H5F_ACC_*` (macros over globals
 * that need `H5open`), so every call that needs one goes through here. Files live in memory only:
 * they are opened from a byte image (a `.keras` zip entry, an `.h5` file read by Swift) and
 * created in memory, then copied out as an image. Nothing here touches the file system: external
 * links and external raw-data storage, which would, are refused.
 *
 * Identifiers are HDF5's `hid_t` (int64_t). Every function returns a negative value on failure and
 * never prints: the library's automatic error printing is switched off (gj_h5_silence_thread).
 * Callers serialize every call (Debian's build is thread-safe, but GraphJIT does not rely on it, and
 * the object identifiers a caller holds are not meant to be shared between threads).
 *
 * What this layer cannot promise: libhdf5 parses the file's own structures (superblock, object
 * headers, B-trees, heaps), and a crafted file can reach bugs in that parser that no check here
 * sees. The layer bounds what GraphJIT asks of it (names, counts, shapes, sizes checked before any
 * read) and the fuzzer runs it, but the library itself is not built with sanitizers.
 */
#ifndef GRAPHJIT_HDF5_SHIM_H
#define GRAPHJIT_HDF5_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* Object kinds answered by gj_h5_child_kind. */
enum {
    GJ_H5_MISSING = 0,
    GJ_H5_GROUP = 1,
    GJ_H5_DATASET = 2,
    GJ_H5_OTHER = 3,       /* a named datatype or an object of an unknown kind */
    GJ_H5_LINK = 4,        /* a soft or external link: never followed */
};

/* Element classes answered by gj_h5_dataset_type. */
enum {
    GJ_H5_CLASS_OTHER = 0,
    GJ_H5_CLASS_FLOAT = 1,
    GJ_H5_CLASS_INTEGER = 2,
    GJ_H5_CLASS_STRING = 3,
};

/* The largest rank gj_h5_dataset_shape reports. */
#define GJ_H5_MAX_RANK 32

/* Opens the library once and switches its error printing off. Returns 0 or negative. */
int gj_h5_init(void);
/* Switches the error printing off for the calling thread (a thread-safe libhdf5 keeps one error
 * stack, and one printing setting, per thread). */
void gj_h5_silence_thread(void);

/* A read-only file over a copy of `count` bytes at `bytes`. */
int64_t gj_h5_open_image(const void *bytes, size_t count);
/* A new, empty file in memory. */
int64_t gj_h5_create_image(void);
/* The size of the file's image; with `buffer` not NULL, also copies it there (`capacity` bytes). */
int64_t gj_h5_file_image(int64_t file, void *buffer, size_t capacity);
int gj_h5_close_file(int64_t file);

/* Groups. `name` is one link name relative to `location` (a file or a group). */
int64_t gj_h5_open_group(int64_t location, const char *name);
int64_t gj_h5_create_group(int64_t location, const char *name);
int gj_h5_close_group(int64_t group);
/* How many links the group holds. */
int64_t gj_h5_child_count(int64_t group);
/* The name of link `index` (in name order): its length; copies up to `capacity`-1 bytes and a NUL. */
int64_t gj_h5_child_name(int64_t group, uint64_t index, char *buffer, size_t capacity);
/* What link `name` in `location` leads to (GJ_H5_*), without following soft or external links. */
int gj_h5_child_kind(int64_t location, const char *name);

/* Datasets. Only datasets whose raw data lives in the file are opened (no external storage, no
 * virtual datasets). */
int64_t gj_h5_open_dataset(int64_t location, const char *name);
int gj_h5_close_dataset(int64_t dataset);
/* The rank (up to GJ_H5_MAX_RANK) and extents; a scalar has rank 0. */
int gj_h5_dataset_shape(int64_t dataset, uint64_t *extents, int capacity);
/* The element class (GJ_H5_CLASS_*) and size in bytes. */
int gj_h5_dataset_type(int64_t dataset, int *element_class, size_t *element_size);
/* Reads every element converted to float32 / int64 (numeric datasets only). */
int gj_h5_read_float32(int64_t dataset, float *out);
int gj_h5_read_int64(int64_t dataset, int64_t *out);
/* Writes a new little-endian float32 / int64 dataset `name` in `location` (rank 0 for a scalar). */
int gj_h5_write_float32(int64_t location, const char *name, int rank, const uint64_t *extents,
                        const float *data);
int gj_h5_write_int64(int64_t location, const char *name, int rank, const uint64_t *extents,
                      const int64_t *data);
/* Writes a new int8 dataset (a quantized kernel, as Keras saves `model.quantize("int8")`'s). */
int gj_h5_write_int8(int64_t location, const char *name, int rank, const uint64_t *extents,
                     const int8_t *data);

/* Attributes. Strings: a scalar or one-dimensional string attribute (fixed-length or
 * variable-length), its elements joined with NUL bytes. Returns the joined length (without a final
 * NUL), copies up to `capacity` bytes, and stores the element count in `count`.
 * Returns GJ_H5_MISSING_ATTRIBUTE if the object has no such attribute. */
#define GJ_H5_MISSING_ATTRIBUTE (-2)
int64_t gj_h5_attribute_strings(int64_t object, const char *name, char *buffer, size_t capacity,
                                uint64_t *count);
/* Writes a scalar variable-length UTF-8 string attribute (as h5py writes a Python str). */
int gj_h5_write_string_attribute(int64_t object, const char *name, const char *value);

#endif
