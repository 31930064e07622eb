/* image.c — PNG and JPEG decoding for `dpf predict`, and pixels to a model's input (image.h).
 * PNG goes through libpng's simplified API, which catches libpng's errors with its own setjmp
 * and keeps the message in png_image.message (nothing printed). JPEG goes through libjpeg with
 * an error manager whose error_exit longjmps back here (libjpeg's default calls exit()) and
 * whose output_message prints nothing; its warnings on corrupt data (a truncated file, bad
 * Huffman codes) are errors here too, since libjpeg would otherwise fill the rest with grey. */
#include "image.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define IMAGE_MAX_PIXELS (1u << 26) /* 64 Mpixel: larger inputs are refused */

image_kind image_sniff(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        return IMAGE_UNKNOWN;
    }
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    if (n >= 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0)
        return IMAGE_PNG;
    if (n >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff)
        return IMAGE_JPEG;
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return IMAGE_IDX; /* gzip: an IDX file is the only compressed input */
    if (n >= 4 && m[0] == 0 && m[1] == 0 && m[2] == 0x08 && m[3] == 0x03)
        return IMAGE_IDX;
    snprintf(err, cap, "not a PNG, JPEG or IDX image file (%s)",
             n == 0 ? "empty" : "unknown first bytes");
    return IMAGE_UNKNOWN;
}

static int check_size(int w, int h, char *err, size_t cap)
{
    if (w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > IMAGE_MAX_PIXELS) {
        snprintf(err, cap, "image size %dx%d is outside 1 .. %u pixels", w, h, IMAGE_MAX_PIXELS);
        return -1;
    }
    return 0;
}

static int read_png(image *out, const char *path, char *err, size_t cap)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) {
        snprintf(err, cap, "corrupt or truncated PNG: %s", pi.message);
        png_image_free(&pi);
        return -1;
    }
    if (check_size((int)pi.width, (int)pi.height, err, cap)) {
        png_image_free(&pi);
        return -1;
    }
    out->c = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    out->w = (int)pi.width;
    out->h = (int)pi.height;
    pi.format = out->c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    /* zeroed: with background NULL an alpha channel is composited onto the buffer (black) */
    out->px = calloc(PNG_IMAGE_SIZE(pi), 1);
    if (!out->px) {
        snprintf(err, cap, "out of memory for %dx%d pixels", out->w, out->h);
        png_image_free(&pi);
        return -1;
    }
    if (!png_image_finish_read(&pi, NULL, out->px, 0, NULL)) {
        snprintf(err, cap, "corrupt or truncated PNG: %s", pi.message);
        png_image_free(&pi);
        image_free(out);
        return -1;
    }
    return 0;
}

typedef struct jpeg_fail {
    struct jpeg_error_mgr pub;
    jmp_buf back;
    char msg[JMSG_LENGTH_MAX];
} jpeg_fail;

static void jpeg_fail_exit(j_common_ptr cinfo)
{
    jpeg_fail *f = (jpeg_fail *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->msg);
    longjmp(f->back, 1);
}

/* level -1: a warning, which libjpeg gives for corrupt or truncated data: fail. Higher levels
 * are trace messages: ignored. */
static void jpeg_fail_emit(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jpeg_fail_exit(cinfo);
}

static void jpeg_quiet(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Decodes after jpeg_stdio_src; px is the caller's (freed by it on failure). */
static int read_jpeg_rows(struct jpeg_decompress_struct *ci, image *out, char *err, size_t cap)
{
    jpeg_read_header(ci, TRUE);
    ci->out_color_space = ci->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(ci);
    if (check_size((int)ci->output_width, (int)ci->output_height, err, cap))
        return -1;
    out->w = (int)ci->output_width;
    out->h = (int)ci->output_height;
    out->c = ci->output_components;
    out->px = malloc((size_t)out->w * out->h * out->c);
    if (!out->px) {
        snprintf(err, cap, "out of memory for %dx%d pixels", out->w, out->h);
        return -1;
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = out->px + (size_t)ci->output_scanline * out->w * out->c;
        jpeg_read_scanlines(ci, &row, 1);
    }
    jpeg_finish_decompress(ci);
    return 0;
}

static int read_jpeg(image *out, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct jpeg_decompress_struct ci;
    jpeg_fail fail;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&fail.pub);
    fail.pub.error_exit = jpeg_fail_exit;
    fail.pub.emit_message = jpeg_fail_emit;
    fail.pub.output_message = jpeg_quiet;
    fail.msg[0] = '\0';
    volatile int rc = -1; /* read after a longjmp */
    if (setjmp(fail.back) == 0) {
        jpeg_create_decompress(&ci);
        jpeg_stdio_src(&ci, f);
        rc = read_jpeg_rows(&ci, out, err, cap);
    } else {
        snprintf(err, cap, "corrupt or truncated JPEG: %s", fail.msg);
    }
    jpeg_destroy_decompress(&ci);
    fclose(f);
    if (rc != 0)
        image_free(out);
    return rc;
}

int image_read(image *out, const char *path, image_kind kind, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (kind == IMAGE_PNG)
        return read_png(out, path, err, cap);
    if (kind == IMAGE_JPEG)
        return read_jpeg(out, path, err, cap);
    snprintf(err, cap, "not a PNG or JPEG file");
    return -1;
}

void image_free(image *img)
{
    free(img->px);
    img->px = NULL;
}

/* One plane (sh, sw) -> (dh, dw), bilinear with pixel centres aligned, edges clamped. */
static void resize_plane(float *dst, const float *src, int sh, int sw, int dh, int dw)
{
    const double sy_scale = (double)sh / dh, sx_scale = (double)sw / dw;
    for (int y = 0; y < dh; y++) {
        double sy = fmax(0.0, (y + 0.5) * sy_scale - 0.5);
        int y0 = (int)sy < sh - 1 ? (int)sy : sh - 1, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        double fy = sy - y0 < 1.0 ? sy - y0 : 0.0;
        for (int x = 0; x < dw; x++) {
            double sx = fmax(0.0, (x + 0.5) * sx_scale - 0.5);
            int x0 = (int)sx < sw - 1 ? (int)sx : sw - 1, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
            double fx = sx - x0 < 1.0 ? sx - x0 : 0.0;
            double top = src[(size_t)y0 * sw + x0] * (1 - fx) + src[(size_t)y0 * sw + x1] * fx;
            double bot = src[(size_t)y1 * sw + x0] * (1 - fx) + src[(size_t)y1 * sw + x1] * fx;
            dst[(size_t)y * dw + x] = (float)(top * (1 - fy) + bot * fy);
        }
    }
}

int image_to_input(float *dst, const uint8_t *px, int h, int w, int c, int C, int H, int W)
{
    const size_t plane = (size_t)h * w;
    const int same = h == H && w == W;
    float *full = same ? dst : malloc(sizeof *full * plane * C);
    if (!full)
        return -1;
    for (size_t i = 0; i < plane; i++) {
        const uint8_t *p = px + i * c;
        if (c == 3 && C == 1)
            full[i] = (float)((0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0);
        else
            for (int k = 0; k < C; k++)
                full[(size_t)k * plane + i] = (float)(p[c == 1 ? 0 : k] / 255.0);
    }
    if (same)
        return 0;
    for (int k = 0; k < C; k++)
        resize_plane(dst + (size_t)k * H * W, full + (size_t)k * plane, h, w, H, W);
    free(full);
    return 0;
}
