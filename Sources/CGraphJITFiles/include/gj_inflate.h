/*
 * gj_inflate.h - bounded raw-deflate decompression and CRC-32 (zlib), for zip entries that are
 * compressed (Keras writes its .keras entries stored; other zip tools may deflate them), and
 * zlib compression for the PNG heat maps.
 */
#ifndef GRAPHJIT_INFLATE_SHIM_H
#define GRAPHJIT_INFLATE_SHIM_H

#include <stddef.h>
#include <stdint.h>

/* Inflates the raw deflate stream `input` (`input_count` bytes) into `output`, which holds
 * exactly `output_count` bytes: returns 0 when the stream ends having produced exactly that many,
 * -1 when it is corrupt or ends early, -2 when it would produce more. Never writes past `output`
 * and never reads past `input`. */
int gj_inflate_raw(const void *input, size_t input_count, void *output, size_t output_count);

/* Compresses `input` (`input_count` bytes) into a zlib stream (RFC 1950: what a PNG's IDAT
 * chunks hold) in `output`, which has room for `*output_count` bytes (at least
 * gj_zlib_bound(input_count)); sets `*output_count` to the stream's length. Returns 0, or -1 when
 * zlib fails or the room is too small. */
int gj_deflate_zlib(const void *input, size_t input_count, void *output, size_t *output_count);

/* The most bytes gj_deflate_zlib can produce from `input_count` bytes. */
size_t gj_zlib_bound(size_t input_count);

/* The CRC-32 (zip's, zlib's) of `count` bytes. */
uint32_t gj_crc32(const void *bytes, size_t count);

#endif
