/*
 * gj_inflate.h - bounded raw-deflate decompression and CRC-32 (zlib), for zip entries that are
 * compressed (Keras writes its .keras entries stored; other zip tools may deflate them).
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

/* The CRC-32 (zip's, zlib's) of `count` bytes. */
uint32_t gj_crc32(const void *bytes, size_t count);

#endif
