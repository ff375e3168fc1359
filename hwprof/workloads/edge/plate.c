/*
 * Licence-plate localisation by grayscale morphology on a car-front scene generated at build time
 * (images.py; the true box is in the header). Steps:
 *   1. black-hat (closing minus image) with a 15x5 rectangle: dark strokes thinner than it, i.e. the
 *      characters, become bright; large dark areas (the car body) do not;
 *   2. its horizontal gradient |b(x+1) - b(x-1)|, which keeps the vertical sides of strokes and drops
 *      horizontal lines (a grille); Otsu threshold; binary closing 17x7 merges strokes and characters into
 *      a text bar, binary opening 9x5 removes specks and thin lines;
 *   3. 8-connected components; a candidate has a plate-like box (width/height 2..8, at least 24x8 pixels),
 *      fills at least half of it, and lies on a light background (the mean of the grayscale closing over
 *      the box reaches the Otsu threshold of the image); the largest candidate wins;
 *   4. its box grows outward over the light plate margin: by a row or column at a time while at least half
 *      of the new line is at or above that threshold.
 * Live-out: the box (x0, y0, x1, y1), x1 and y1 exclusive; "checksum: x0,y0,x1,y1" (0,0,0,0 if none).
 * Written for hwprof.
 */
#include "../common/hwprof_bench.h"
#include "plate_image.h"

typedef struct {
    int x0, y0, x1, y1;
} Box;

/* Flat rectangular erosion (take_max = 0) or dilation (1), separable; the window is cut at the image edge. */
static void morph_rect(const unsigned char *src, unsigned char *dst, unsigned char *tmp, int w, int h,
                       int rw, int rh, int take_max)
{
    int ax = rw / 2, ay = rh / 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int lo = x - ax < 0 ? 0 : x - ax, hi = x + ax >= w ? w - 1 : x + ax;
            unsigned char v = src[y * w + lo];
            for (int k = lo + 1; k <= hi; k++) {
                unsigned char u = src[y * w + k];
                v = take_max ? (u > v ? u : v) : (u < v ? u : v);
            }
            tmp[y * w + x] = v;
        }
    for (int y = 0; y < h; y++) {
        int lo = y - ay < 0 ? 0 : y - ay, hi = y + ay >= h ? h - 1 : y + ay;
        for (int x = 0; x < w; x++) {
            unsigned char v = tmp[lo * w + x];
            for (int k = lo + 1; k <= hi; k++) {
                unsigned char u = tmp[k * w + x];
                v = take_max ? (u > v ? u : v) : (u < v ? u : v);
            }
            dst[y * w + x] = v;
        }
    }
}

static void closing(const unsigned char *src, unsigned char *dst, unsigned char *t1, unsigned char *t2,
                    int w, int h, int rw, int rh)
{
    morph_rect(src, t1, t2, w, h, rw, rh, 1);
    morph_rect(t1, dst, t2, w, h, rw, rh, 0);
}

static void opening(const unsigned char *src, unsigned char *dst, unsigned char *t1, unsigned char *t2,
                    int w, int h, int rw, int rh)
{
    morph_rect(src, t1, t2, w, h, rw, rh, 0);
    morph_rect(t1, dst, t2, w, h, rw, rh, 1);
}

/* Otsu's threshold t of 8-bit values: classes v <= t and v > t with the largest between-class variance. */
static int otsu(const unsigned char *a, long n)
{
    long hist[256] = {0};
    for (long i = 0; i < n; i++)
        hist[a[i]]++;
    double total = 0.0;
    for (int v = 0; v < 256; v++)
        total += (double)v * hist[v];
    double below = 0.0, best = -1.0;
    long count = 0;
    int t_best = 0;
    for (int t = 0; t < 255; t++) {
        count += hist[t];
        below += (double)t * hist[t];
        if (count == 0 || count == n)
            continue;
        double m0 = below / count, m1 = (total - below) / (n - count);
        double between = (double)count * (double)(n - count) * (m0 - m1) * (m0 - m1);
        if (between > best) {
            best = between;
            t_best = t;
        }
    }
    return t_best;
}

static double mean_over(const unsigned char *a, int w, Box b)
{
    double sum = 0.0;
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++)
            sum += a[y * w + x];
    return sum / ((double)(b.x1 - b.x0) * (b.y1 - b.y0));
}

/* Label 8-connected foreground components one by one (flood fill) and return the best candidate's box. */
static int best_component(const unsigned char *fg, const unsigned char *closed, int *label, int *queue,
                          int w, int h, int light, Box *found)
{
    long best_area = 0;
    int next = 0;
    for (int i = 0; i < w * h; i++)
        label[i] = 0;
    for (int seed = 0; seed < w * h; seed++) {
        if (!fg[seed] || label[seed])
            continue;
        int head = 0, tail = 0;
        Box b = {seed % w, seed / w, seed % w + 1, seed / w + 1};
        label[seed] = ++next;
        queue[tail++] = seed;
        while (head < tail) {
            int i = queue[head++], y = i / w, x = i % w;
            b.x0 = x < b.x0 ? x : b.x0;   /* the seed comes first in raster order: its row is the top */
            b.x1 = x + 1 > b.x1 ? x + 1 : b.x1;
            b.y1 = y + 1 > b.y1 ? y + 1 : b.y1;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w || !fg[yy * w + xx] || label[yy * w + xx])
                        continue;
                    label[yy * w + xx] = next;
                    queue[tail++] = yy * w + xx;
                }
        }
        int bw = b.x1 - b.x0, bh = b.y1 - b.y0;
        long area = tail;
        if (bw < 24 || bh < 8 || bw < 2 * bh || bw > 8 * bh || 2 * area < (long)bw * bh)
            continue;
        if (mean_over(closed, w, b) < light || area <= best_area)
            continue;
        best_area = area;
        *found = b;
    }
    return best_area > 0;
}

static int light_line(const unsigned char *img, int w, int x0, int y0, int x1, int y1, int light)
{
    int bright = 0, n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++, n++)
            bright += img[y * w + x] >= light;
    return 2 * bright >= n;
}

/* Grow the box over the light plate margin, at most its own height on each side. */
static Box grow(const unsigned char *img, int w, int h, Box b, int light)
{
    int limit = b.y1 - b.y0;
    for (int k = 0; k < limit && b.y0 > 0 && light_line(img, w, b.x0, b.y0 - 1, b.x1, b.y0, light); k++)
        b.y0--;
    for (int k = 0; k < limit && b.y1 < h && light_line(img, w, b.x0, b.y1, b.x1, b.y1 + 1, light); k++)
        b.y1++;
    for (int k = 0; k < limit && b.x0 > 0 && light_line(img, w, b.x0 - 1, b.y0, b.x0, b.y1, light); k++)
        b.x0--;
    for (int k = 0; k < limit && b.x1 < w && light_line(img, w, b.x1, b.y0, b.x1 + 1, b.y1, light); k++)
        b.x1++;
    return b;
}

typedef struct {
    unsigned char *closed, *mask, *merged, *t1, *t2;
    int *label, *queue;
} Scratch;

static Box locate_plate(const unsigned char *img, Scratch *s, int w, int h)
{
    long n = (long)w * h;
    Box box = {0, 0, 0, 0};
    closing(img, s->closed, s->t1, s->t2, w, h, 15, 5);
    for (long i = 0; i < n; i++)
        s->t1[i] = (unsigned char)(s->closed[i] - img[i]);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int d = x == 0 || x == w - 1 ? 0 : s->t1[y * w + x + 1] - s->t1[y * w + x - 1];
            s->merged[y * w + x] = (unsigned char)(d < 0 ? -d : d);
        }
    int t = otsu(s->merged, n);
    for (long i = 0; i < n; i++)
        s->mask[i] = s->merged[i] > t;
    closing(s->mask, s->merged, s->t1, s->t2, w, h, 17, 7);
    opening(s->merged, s->mask, s->t1, s->t2, w, h, 9, 5);
    int light = otsu(img, n);
    if (best_component(s->mask, s->closed, s->label, s->queue, w, h, light, &box))
        box = grow(img, w, h, box, light);
    return box;
}

int main(void)
{
    const int w = PLATE_W, h = PLATE_H;
    size_t n = (size_t)w * h;
    Scratch s = {hwprof_alloc(n), hwprof_alloc(n), hwprof_alloc(n), hwprof_alloc(n), hwprof_alloc(n),
                 hwprof_alloc(n * sizeof(int)), hwprof_alloc(n * sizeof(int))};

    bench_start();
    Box box = locate_plate(plate_image, &s, w, h);
    bench_end();

    printf("checksum: %d,%d,%d,%d\n", box.x0, box.y0, box.x1, box.y1);
    free(s.closed); free(s.mask); free(s.merged); free(s.t1); free(s.t2); free(s.label); free(s.queue);
    return 0;
}
