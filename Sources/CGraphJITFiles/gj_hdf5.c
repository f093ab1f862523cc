/*
 * gj_hdf5.c - see include/gj_hdf5.h. Every HDF5 handle opened here is closed here, on every path.
 */
#include "gj_hdf5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is int64_t since HDF5 1.10");

/* The most bytes one string attribute's elements may take (pointers or fixed-length text). */
#define GJ_H5_ATTRIBUTE_LIMIT ((size_t)64 << 20)

static unsigned long long gj_h5_image_counter = 0;

int gj_h5_init(void) {
    if (H5open() < 0) return -1;
    return H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0 ? -1 : 0;
}

void gj_h5_silence_thread(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* A file-access property list for a file held in memory only (the core driver, no backing file);
 * closing the file closes every object still open in it. */
static hid_t gj_h5_memory_access(void) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access < 0) return -1;
    if (H5Pset_fapl_core(access, (size_t)1 << 16, 0) < 0 || H5Pset_fclose_degree(access, H5F_CLOSE_STRONG) < 0) {
        H5Pclose(access);
        return -1;
    }
    return access;
}

/* A name no other open image has (the core driver still keys open files by name). */
static void gj_h5_image_name(char *name, size_t capacity) {
    snprintf(name, capacity, "graphjit-memory-image-%llu", ++gj_h5_image_counter);
}

int64_t gj_h5_open_image(const void *bytes, size_t count) {
    if (bytes == NULL || count == 0) return -1;
    hid_t access = gj_h5_memory_access();
    if (access < 0) return -1;
    hid_t file = -1;
    if (H5Pset_file_image(access, (void *)bytes, count) >= 0) {  /* copies the bytes */
        char name[64];
        gj_h5_image_name(name, sizeof name);
        file = H5Fopen(name, H5F_ACC_RDONLY, access);
    }
    H5Pclose(access);
    return file;
}

int64_t gj_h5_create_image(void) {
    hid_t access = gj_h5_memory_access();
    if (access < 0) return -1;
    char name[64];
    gj_h5_image_name(name, sizeof name);
    hid_t file = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, access);
    H5Pclose(access);
    return file;
}

int64_t gj_h5_file_image(int64_t file, void *buffer, size_t capacity) {
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) return -1;
    ssize_t size = H5Fget_file_image(file, NULL, 0);
    if (size < 0 || buffer == NULL) return size;
    if ((size_t)size > capacity) return -1;
    return H5Fget_file_image(file, buffer, (size_t)size);
}

int gj_h5_close_file(int64_t file) { return H5Fclose(file) < 0 ? -1 : 0; }

/* MARK: - Links and groups */

static int gj_h5_is_single_name(const char *name) {
    return name != NULL && name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0;
}

int gj_h5_child_kind(int64_t location, const char *name) {
    if (!gj_h5_is_single_name(name)) return -1;
    htri_t exists = H5Lexists(location, name, H5P_DEFAULT);
    if (exists < 0) return -1;
    if (exists == 0) return GJ_H5_MISSING;
    H5L_info_t link;
    if (H5Lget_info(location, name, &link, H5P_DEFAULT) < 0) return -1;
    if (link.type != H5L_TYPE_HARD) return GJ_H5_LINK;
    hid_t object = H5Oopen(location, name, H5P_DEFAULT);
    if (object < 0) return -1;
    H5I_type_t type = H5Iget_type(object);
    H5Oclose(object);
    switch (type) {
    case H5I_GROUP: return GJ_H5_GROUP;
    case H5I_DATASET: return GJ_H5_DATASET;
    default: return GJ_H5_OTHER;
    }
}

int64_t gj_h5_open_group(int64_t location, const char *name) {
    if (gj_h5_child_kind(location, name) != GJ_H5_GROUP) return -1;
    return H5Gopen2(location, name, H5P_DEFAULT);
}

int64_t gj_h5_create_group(int64_t location, const char *name) {
    if (!gj_h5_is_single_name(name)) return -1;
    return H5Gcreate2(location, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

int gj_h5_close_group(int64_t group) { return H5Gclose(group) < 0 ? -1 : 0; }

int64_t gj_h5_child_count(int64_t group) {
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0) return -1;
    return info.nlinks > (hsize_t)INT64_MAX ? -1 : (int64_t)info.nlinks;
}

int64_t gj_h5_child_name(int64_t group, uint64_t index, char *buffer, size_t capacity) {
    return H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)index, buffer, capacity,
                              H5P_DEFAULT);
}

/* MARK: - Datasets */

int64_t gj_h5_open_dataset(int64_t location, const char *name) {
    if (gj_h5_child_kind(location, name) != GJ_H5_DATASET) return -1;
    hid_t dataset = H5Dopen2(location, name, H5P_DEFAULT);
    if (dataset < 0) return -1;
    /* Raw data stored outside the file (external storage, virtual datasets) is never read. */
    hid_t creation = H5Dget_create_plist(dataset);
    int inside = creation >= 0 && H5Pget_external_count(creation) == 0 && H5Pget_layout(creation) != H5D_VIRTUAL
                 && H5Pget_layout(creation) >= 0;
    if (creation >= 0) H5Pclose(creation);
    if (!inside) {
        H5Dclose(dataset);
        return -1;
    }
    return dataset;
}

int gj_h5_close_dataset(int64_t dataset) { return H5Dclose(dataset) < 0 ? -1 : 0; }

int gj_h5_dataset_shape(int64_t dataset, uint64_t *extents, int capacity) {
    hid_t space = H5Dget_space(dataset);
    if (space < 0) return -1;
    int rank = -1;
    H5S_class_t kind = H5Sget_simple_extent_type(space);
    if (kind == H5S_SCALAR) {
        rank = 0;
    } else if (kind == H5S_SIMPLE) {
        int dims = H5Sget_simple_extent_ndims(space);
        if (dims >= 0 && dims <= GJ_H5_MAX_RANK && dims <= capacity) {
            hsize_t local[GJ_H5_MAX_RANK];
            if (H5Sget_simple_extent_dims(space, local, NULL) == dims) {
                for (int i = 0; i < dims; i++) extents[i] = (uint64_t)local[i];
                rank = dims;
            }
        }
    }
    H5Sclose(space);
    return rank;
}

int gj_h5_dataset_type(int64_t dataset, int *element_class, size_t *element_size) {
    hid_t type = H5Dget_type(dataset);
    if (type < 0) return -1;
    switch (H5Tget_class(type)) {
    case H5T_FLOAT: *element_class = GJ_H5_CLASS_FLOAT; break;
    case H5T_INTEGER: *element_class = GJ_H5_CLASS_INTEGER; break;
    case H5T_STRING: *element_class = GJ_H5_CLASS_STRING; break;
    default: *element_class = GJ_H5_CLASS_OTHER; break;
    }
    *element_size = H5Tget_size(type);
    H5Tclose(type);
    return 0;
}

static int gj_h5_is_numeric(int64_t dataset) {
    int element_class;
    size_t size;
    if (gj_h5_dataset_type(dataset, &element_class, &size) < 0) return 0;
    return element_class == GJ_H5_CLASS_FLOAT || element_class == GJ_H5_CLASS_INTEGER;
}

int gj_h5_read_float32(int64_t dataset, float *out) {
    if (!gj_h5_is_numeric(dataset)) return -1;
    return H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0 ? -1 : 0;
}

int gj_h5_read_int64(int64_t dataset, int64_t *out) {
    if (!gj_h5_is_numeric(dataset)) return -1;
    return H5Dread(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0 ? -1 : 0;
}

static int gj_h5_write(int64_t location, const char *name, int rank, const uint64_t *extents, hid_t file_type,
                       hid_t memory_type, const void *data) {
    if (!gj_h5_is_single_name(name) || rank < 0 || rank > GJ_H5_MAX_RANK) return -1;
    hsize_t local[GJ_H5_MAX_RANK];
    for (int i = 0; i < rank; i++) local[i] = (hsize_t)extents[i];
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, local, NULL);
    if (space < 0) return -1;
    int status = -1;
    hid_t dataset = H5Dcreate2(location, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dataset >= 0) {
        status = H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0 ? -1 : 0;
        if (H5Dclose(dataset) < 0) status = -1;
    }
    H5Sclose(space);
    return status;
}

int gj_h5_write_float32(int64_t location, const char *name, int rank, const uint64_t *extents,
                        const float *data) {
    return gj_h5_write(location, name, rank, extents, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data);
}

int gj_h5_write_int64(int64_t location, const char *name, int rank, const uint64_t *extents,
                      const int64_t *data) {
    return gj_h5_write(location, name, rank, extents, H5T_STD_I64LE, H5T_NATIVE_INT64, data);
}

int gj_h5_write_int8(int64_t location, const char *name, int rank, const uint64_t *extents,
                     const int8_t *data) {
    return gj_h5_write(location, name, rank, extents, H5T_STD_I8LE, H5T_NATIVE_SCHAR, data);
}

/* MARK: - Attributes */

/* Appends `length` bytes of `text` (and a NUL separator before every element but the first) to the
 * joined result, copying what fits in `capacity`. */
static void gj_h5_append(char *buffer, size_t capacity, size_t *joined, const char *text, size_t length,
                         int separated) {
    if (separated) {
        if (buffer != NULL && *joined < capacity) buffer[*joined] = '\0';
        *joined += 1;
    }
    if (buffer != NULL && *joined < capacity) {
        size_t room = capacity - *joined;
        memcpy(buffer + *joined, text, length < room ? length : room);
    }
    *joined += length;
}

int64_t gj_h5_attribute_strings(int64_t object, const char *name, char *buffer, size_t capacity,
                                uint64_t *count) {
    htri_t exists = H5Aexists(object, name);
    if (exists < 0) return -1;
    if (exists == 0) return GJ_H5_MISSING_ATTRIBUTE;
    hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
    if (attribute < 0) return -1;
    hid_t type = H5Aget_type(attribute);
    hid_t space = H5Aget_space(attribute);
    hid_t memory = -1;
    int64_t result = -1;
    void *elements = NULL;
    if (type < 0 || space < 0 || H5Tget_class(type) != H5T_STRING) goto done;
    int rank = H5Sget_simple_extent_ndims(space);
    hssize_t points = H5Sget_simple_extent_npoints(space);
    if (rank < 0 || rank > 1 || points < 0) goto done;
    size_t n = (size_t)points;
    size_t joined = 0;
    htri_t variable = H5Tis_variable_str(type);
    if (variable < 0) goto done;
    memory = H5Tcopy(H5T_C_S1);
    if (memory < 0 || H5Tset_cset(memory, H5Tget_cset(type)) < 0) goto done;
    if (variable) {
        if (n > GJ_H5_ATTRIBUTE_LIMIT / sizeof(char *) || H5Tset_size(memory, H5T_VARIABLE) < 0) goto done;
        char **strings = calloc(n == 0 ? 1 : n, sizeof(char *));
        if (strings == NULL) goto done;
        elements = strings;
        if (H5Aread(attribute, memory, strings) < 0) {
            H5Dvlen_reclaim(memory, space, H5P_DEFAULT, strings);  /* what a failed read did allocate */
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            const char *text = strings[i] == NULL ? "" : strings[i];
            gj_h5_append(buffer, capacity, &joined, text, strlen(text), i > 0);
        }
        H5Dvlen_reclaim(memory, space, H5P_DEFAULT, strings);
    } else {
        size_t size = H5Tget_size(type);
        /* Null-padded, as h5py writes `bytes`: a null-terminated memory type of the same size would
         * drop the last character of the longest element. */
        if (size == 0 || n > GJ_H5_ATTRIBUTE_LIMIT / size || H5Tset_size(memory, size) < 0
            || H5Tset_strpad(memory, H5T_STR_NULLPAD) < 0) goto done;
        char *text = malloc(n * size == 0 ? 1 : n * size);
        if (text == NULL) goto done;
        elements = text;
        if (H5Aread(attribute, memory, text) < 0) goto done;
        for (size_t i = 0; i < n; i++) {
            const char *element = text + i * size;
            size_t length = 0;
            while (length < size && element[length] != '\0') length++;
            gj_h5_append(buffer, capacity, &joined, element, length, i > 0);
        }
    }
    *count = (uint64_t)n;
    result = (int64_t)joined;
done:
    free(elements);
    if (memory >= 0) H5Tclose(memory);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Aclose(attribute);
    return result;
}

int gj_h5_write_string_attribute(int64_t object, const char *name, const char *value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0) return -1;
    int status = -1;
    hid_t space = H5Screate(H5S_SCALAR);
    if (H5Tset_size(type, H5T_VARIABLE) >= 0 && H5Tset_cset(type, H5T_CSET_UTF8) >= 0 && space >= 0) {
        hid_t attribute = H5Acreate2(object, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        if (attribute >= 0) {
            status = H5Awrite(attribute, type, &value) < 0 ? -1 : 0;
            if (H5Aclose(attribute) < 0) status = -1;
        }
    }
    if (space >= 0) H5Sclose(space);
    H5Tclose(type);
    return status;
}
