/* gj_inflate.c - see include/gj_inflate.h. */
#include "gj_inflate.h"

#include <limits.h>
#include <zlib.h>

int gj_inflate_raw(const void *input, size_t input_count, void *output, size_t output_count) {
    z_stream stream = {0};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) return -1;
    const unsigned char *in = input;
    unsigned char *out = output;
    size_t consumed = 0, produced = 0;
    int status = Z_OK;
    unsigned char overflow_probe;
    while (status == Z_OK) {
        size_t in_chunk = input_count - consumed < UINT_MAX ? input_count - consumed : UINT_MAX;
        size_t out_room = output_count - produced;
        stream.next_in = (unsigned char *)in + consumed;
        stream.avail_in = (unsigned)in_chunk;
        /* When the output is full, offer one probe byte: producing it means the stream is longer. */
        stream.next_out = out_room > 0 ? out + produced : &overflow_probe;
        stream.avail_out = out_room > 0 ? (unsigned)(out_room < UINT_MAX ? out_room : UINT_MAX) : 1;
        unsigned before_in = stream.avail_in, before_out = stream.avail_out;
        status = inflate(&stream, Z_NO_FLUSH);
        consumed += before_in - stream.avail_in;
        size_t made = before_out - stream.avail_out;
        if (out_room == 0 && made > 0) { inflateEnd(&stream); return -2; }
        produced += out_room > 0 ? made : 0;
        if (status == Z_BUF_ERROR || (status == Z_OK && made == 0 && before_in == stream.avail_in)) {
            /* No progress: the input ended before the stream did. */
            inflateEnd(&stream);
            return -1;
        }
    }
    inflateEnd(&stream);
    if (status != Z_STREAM_END) return -1;
    return produced == output_count ? 0 : -1;
}

int gj_deflate_zlib(const void *input, size_t input_count, void *output, size_t *output_count) {
    uLongf room = (uLongf)*output_count;
    if ((size_t)room != *output_count || (uLong)input_count != input_count) return -1;
    if (compress2(output, &room, input, (uLong)input_count, Z_BEST_COMPRESSION) != Z_OK) return -1;
    *output_count = (size_t)room;
    return 0;
}

size_t gj_zlib_bound(size_t input_count) { return (size_t)compressBound((uLong)input_count); }

uint32_t gj_crc32(const void *bytes, size_t count) {
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = bytes;
    while (count > 0) {
        unsigned chunk = count < UINT_MAX ? (unsigned)count : UINT_MAX;
        crc = crc32(crc, p, chunk);
        p += chunk;
        count -= chunk;
    }
    return (uint32_t)crc;
}
