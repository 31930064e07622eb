/* augment.c — one sample to normalised floats, with torchvision's semantics:
 *   RandomCrop(size = original, padding = p): zero padding in raw pixel space (so padded pixels
 *   come out as (0 - mean) / std), top then left offset drawn uniformly in [0, 2p];
 *   RandomHorizontalFlip(0.5): flipped when a uniform draw is < 0.5 (drawn after the offsets);
 *   ToTensor + Normalize: (pixel / 255 - mean[c]) / std[c] in float32.
 * With rng == NULL no random choice is made: centred crop (the identity) and no flip. */
#include "dpf/data.h"

#include "dpf/rng.h"

static float norm_pixel(uint8_t v, float mean, float std)
{
    float x = (float)v / 255.0f;
    return (x - mean) / std;
}

void dpf_augment_sample(float *dst, const dpf_dataset *ds, int i, const dpf_augment *aug,
                        struct dpf_rng *rng)
{
    const int c = ds->c, h = ds->h, w = ds->w;
    const int p = aug && aug->crop_pad > 0 ? aug->crop_pad : 0;
    int top = p, left = p, flip = 0;
    if (rng && p > 0) {
        top = (int)dpf_rng_below(rng, (uint32_t)(2 * p + 1));
        left = (int)dpf_rng_below(rng, (uint32_t)(2 * p + 1));
    }
    if (rng && aug && aug->flip)
        flip = dpf_rng_uniform(rng) < 0.5;
    const int dy = top - p, dx = left - p; /* output (y, x) reads input (y + dy, x' + dx) */
    const uint8_t *src = ds->images + (size_t)i * (size_t)c * (size_t)h * (size_t)w;
    for (int ch = 0; ch < c; ch++) {
        float mean = aug && ch < 3 ? aug->mean[ch] : 0.0f;
        float std = aug && ch < 3 ? aug->std[ch] : 1.0f;
        float pad = norm_pixel(0, mean, std);
        const uint8_t *plane = src + (size_t)ch * (size_t)h * (size_t)w;
        for (int y = 0; y < h; y++) {
            float *row = dst + ((size_t)ch * (size_t)h + (size_t)y) * (size_t)w;
            int sy = y + dy;
            if (sy < 0 || sy >= h) {
                for (int x = 0; x < w; x++)
                    row[x] = pad;
                continue;
            }
            const uint8_t *srow = plane + (size_t)sy * (size_t)w;
            for (int x = 0; x < w; x++) {
                int sx = (flip ? w - 1 - x : x) + dx;
                row[x] = sx >= 0 && sx < w ? norm_pixel(srow[sx], mean, std) : pad;
            }
        }
    }
}
