/* make_image.c — writes test images for tests/cli/test_predict.sh: raw 8-bit pixels (H, W, C)
 * read from stdin, written as PNG (libpng) or JPEG (libjpeg, quality 100) so the tests need no
 * Python imaging package.
 * usage: make_image png|jpg C W H OUT < pixels   (C: 1 grey, 3 RGB) */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static int write_jpeg(const char *path, const unsigned char *px, int c, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return perror(path), 1;
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err); /* a test tool: libjpeg's default exit on error is fine */
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f) != 0;
}

static int write_png(const char *path, const unsigned char *px, int c, int w, int h)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = (png_uint_32)w;
    pi.height = (png_uint_32)h;
    pi.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&pi, path, 0, px, 0, NULL)) {
        fprintf(stderr, "make_image: %s: %s\n", path, pi.message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: make_image png|jpg C W H OUT < pixels\n");
        return 2;
    }
    int c = atoi(argv[2]), w = atoi(argv[3]), h = atoi(argv[4]);
    if ((c != 1 && c != 3) || w < 1 || h < 1 || w > 4096 || h > 4096)
        return fprintf(stderr, "make_image: bad size\n"), 2;
    size_t n = (size_t)c * w * h;
    unsigned char *px = malloc(n);
    if (!px || fread(px, 1, n, stdin) != n)
        return fprintf(stderr, "make_image: expected %zu bytes on stdin\n", n), 1;
    int rc = strcmp(argv[1], "jpg") == 0 ? write_jpeg(argv[5], px, c, w, h)
                                         : write_png(argv[5], px, c, w, h);
    free(px);
    return rc;
}
