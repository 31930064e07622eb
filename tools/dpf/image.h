/* image.h — image files for `dpf predict`: PNG (libpng) and JPEG (libjpeg-turbo) decoded into
 * 8-bit pixels, and the conversion of pixels to a model's input (channels by luma weights or
 * replication, bilinear resize, values in [0, 1]). Errors come back as one line of text; the
 * decoders never print or exit. */
#ifndef DPF_CLI_IMAGE_H
#define DPF_CLI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum image_kind { IMAGE_UNKNOWN, IMAGE_PNG, IMAGE_JPEG, IMAGE_IDX } image_kind;

typedef struct image {
    int w, h, c;        /* c: 1 (grey) or 3 (RGB) */
    uint8_t *px;        /* (h, w, c) interleaved, owned */
} image;

/* The kind of a file by its first bytes (gzip counts as IDX); IMAGE_UNKNOWN with err set when
 * it cannot be read or is none of them. */
image_kind image_sniff(const char *path, char *err, size_t cap);
/* Decodes a PNG or JPEG file (kind from image_sniff) into out: grey stays grey, colour becomes
 * RGB, alpha is composited onto black. 0, or -1 with a one-line reason in err (the file is not
 * named: the caller does that). */
int image_read(image *out, const char *path, image_kind kind, char *err, size_t cap);
void image_free(image *img);

/* Pixels px (h, w, c) -> dst (C, H, W) floats in [0, 1]: c = 3 to C = 1 by luma
 * 0.299 R + 0.587 G + 0.114 B, c = 1 to C = 3 replicated, then resized bilinearly (pixel
 * centres aligned, as PIL and PyTorch's align_corners=False) when (h, w) != (H, W).
 * c and C are 1 or 3. 0, or -1 when out of memory. */
int image_to_input(float *dst, const uint8_t *px, int h, int w, int c, int C, int H, int W);

#endif
