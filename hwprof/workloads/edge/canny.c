/*
 * Canny edge detection (Canny 1986) on scikit-image's camera photograph, grayscale, single precision:
 * Gaussian blur (normalised at the borders), Sobel gradients, non-maximum suppression interpolated along
 * the gradient, double threshold and hysteresis over 8-connected pixels. The image and sigma/thresholds
 * come from a header generated at build time (images.py); -DSMALL_DATASET picks the 128x128 version.
 * Live-out: the edge map (0/1 bytes); `dump` writes it on stderr as a binary PGM (P5, maxval 1).
 * Written for hwprof.
 */
#include <math.h>

#include "../common/hwprof_bench.h"

#if defined(SMALL_DATASET)
#include "canny_small.h"
#else
#include "canny_default.h"
#endif

#define MAX_RADIUS 32

/* One separable Gaussian pass; taps falling outside the image are dropped and the rest renormalised. */
static void blur_rows(const float *src, float *dst, int w, int h, const float *g, int r)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float acc = 0.0f, norm = 0.0f;
            int lo = x - r < 0 ? -x : -r, hi = x + r >= w ? w - 1 - x : r;
            for (int k = lo; k <= hi; k++) {
                acc += g[k + r] * src[y * w + x + k];
                norm += g[k + r];
            }
            dst[y * w + x] = acc / norm;
        }
}

static void blur_columns(const float *src, float *dst, int w, int h, const float *g, int r)
{
    for (int y = 0; y < h; y++) {
        int lo = y - r < 0 ? -y : -r, hi = y + r >= h ? h - 1 - y : r;
        float norm = 0.0f;
        for (int k = lo; k <= hi; k++)
            norm += g[k + r];
        for (int x = 0; x < w; x++) {
            float acc = 0.0f;
            for (int k = lo; k <= hi; k++)
                acc += g[k + r] * src[(y + k) * w + x];
            dst[y * w + x] = acc / norm;
        }
    }
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Sobel derivatives along rows (gy, axis 0) and columns (gx, axis 1); borders repeat the edge pixel. */
static void sobel(const float *s, float *gy, float *gx, float *mag, int w, int h)
{
    for (int y = 0; y < h; y++) {
        const float *up = s + clampi(y - 1, 0, h - 1) * w, *mid = s + y * w, *dn = s + clampi(y + 1, 0, h - 1) * w;
        for (int x = 0; x < w; x++) {
            int l = clampi(x - 1, 0, w - 1), r = clampi(x + 1, 0, w - 1);
            float dy = (dn[l] + 2.0f * dn[x] + dn[r]) - (up[l] + 2.0f * up[x] + up[r]);
            float dx = (up[r] + 2.0f * mid[r] + dn[r]) - (up[l] + 2.0f * mid[l] + dn[l]);
            gy[y * w + x] = dy;
            gx[y * w + x] = dx;
            mag[y * w + x] = sqrtf(dy * dy + dx * dx);
        }
    }
}

/* Keep a pixel whose magnitude reaches `low` and is not below either neighbour along the gradient,
 * the neighbours being interpolated between the axial and the diagonal pixel. Border pixels are dropped. */
static void suppress(const float *gy, const float *gx, const float *mag, float *kept, int w, int h, float low)
{
    memset(kept, 0, (size_t)w * h * sizeof(float));
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            int i = y * w + x;
            float m = mag[i];
            if (m < low)
                continue;
            float ay = fabsf(gy[i]), ax = fabsf(gx[i]);
            int sy = gy[i] >= 0.0f ? 1 : -1, sx = gx[i] >= 0.0f ? 1 : -1;
            int axial, diagonal = sy * w + sx;
            float t;
            if (ay >= ax) {
                axial = sy * w;
                t = ax / ay;
            } else {
                axial = sx;
                t = ay / ax;
            }
            float ahead = (1.0f - t) * mag[i + axial] + t * mag[i + diagonal];
            float behind = (1.0f - t) * mag[i - axial] + t * mag[i - diagonal];
            if (ahead <= m && behind <= m)
                kept[i] = m;
        }
}

/* Edges: pixels reaching `high`, grown through 8-connected kept pixels. `stack` holds w*h indices. */
static void hysteresis(const float *kept, unsigned char *edges, int *stack, int w, int h, float high)
{
    int top = 0;
    memset(edges, 0, (size_t)w * h);
    for (int i = 0; i < w * h; i++)
        if (kept[i] >= high) {
            edges[i] = 1;
            stack[top++] = i;
        }
    while (top > 0) {
        int i = stack[--top], y = i / w, x = i % w;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int yy = y + dy, xx = x + dx;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                    continue;
                int j = yy * w + xx;
                if (!edges[j] && kept[j] > 0.0f) {
                    edges[j] = 1;
                    stack[top++] = j;
                }
            }
    }
}

typedef struct {
    float *a, *b, *gy, *gx, *mag;
    int *stack;
} Scratch;

static void canny(const unsigned char *img, unsigned char *edges, Scratch *s, int w, int h,
                  double sigma, float low, float high)
{
    int r = (int)(4.0 * sigma + 0.5);
    r = r > MAX_RADIUS ? MAX_RADIUS : r;
    float g[2 * MAX_RADIUS + 1];
    for (int k = -r; k <= r; k++)
        g[k + r] = (float)exp(-0.5 * k * k / (sigma * sigma));
    for (int i = 0; i < w * h; i++)
        s->a[i] = img[i] / 255.0f;
    blur_rows(s->a, s->b, w, h, g, r);
    blur_columns(s->b, s->a, w, h, g, r);
    sobel(s->a, s->gy, s->gx, s->mag, w, h);
    suppress(s->gy, s->gx, s->mag, s->b, w, h, low);
    hysteresis(s->b, edges, s->stack, w, h, high);
}

int main(int argc, char **argv)
{
    const int w = CANNY_W, h = CANNY_H;
    size_t n = (size_t)w * h;
    Scratch s = {hwprof_alloc(n * sizeof(float)), hwprof_alloc(n * sizeof(float)), hwprof_alloc(n * sizeof(float)),
                 hwprof_alloc(n * sizeof(float)), hwprof_alloc(n * sizeof(float)), hwprof_alloc(n * sizeof(int))};
    unsigned char *edges = hwprof_alloc(n);

    bench_start();
    canny(canny_image, edges, &s, w, h, CANNY_SIGMA, CANNY_LOW, CANNY_HIGH);
    bench_end();

    hwprof_checksum_bytes(edges, n);
    if (hwprof_dump_requested(argc, argv)) {
        fprintf(stderr, "P5\n%d %d\n1\n", w, h);
        fwrite(edges, 1, n, stderr);
        fflush(stderr);
    }
    free(s.a); free(s.b); free(s.gy); free(s.gx); free(s.mag); free(s.stack);
    free(edges);
    return 0;
}
