/*
 * The study's digit classification edge application: LeNet-5 inference in float32 over the held-out
 * scikit-learn digits. Network: 32x32 input -> conv 5x5 (6) -> ReLU -> max pool 2x2 -> conv 5x5 (16,
 * fully connected to the 6 maps) -> ReLU -> max pool 2x2 -> fully connected 120 -> ReLU -> 84 -> ReLU
 * -> 10, the predicted digit being the first largest of the 10 outputs. Weights (trained offline by
 * scripts/train_lenet.py) and test digits come from lenet_data.h, written at build time by
 * hwprof.workloads.edge.digits. Every sum starts at the bias and adds products in index order.
 *
 * Usage: lenet [default|small] [dump]. "default" classifies every held-out image, "small" the first 64.
 * Prints the number correct, "accuracy: <fraction>" and the checksum (FNV-1a over the predicted labels,
 * one byte each); with "dump", writes the predicted labels in PolyBench's dump format on stderr.
 */
#include "../common/hwprof_bench.h"
#include "lenet_data.h"

#define IN 32   /* input side */
#define K 5     /* convolution kernel side */
#define C1 6    /* conv1 maps: 28x28, pooled to 14x14 */
#define C2 16   /* conv2 maps: 10x10, pooled to 5x5 */
#define F0 (C2 * 5 * 5)
#define F1 120
#define F2 84
#define F3 10
#define SMALL_COUNT 64

static const int conv1_shape[] = {LENET_CONV1_SHAPE}, conv2_shape[] = {LENET_CONV2_SHAPE};
static const int fc1_shape[] = {LENET_FC1_SHAPE}, fc2_shape[] = {LENET_FC2_SHAPE}, fc3_shape[] = {LENET_FC3_SHAPE};

/* Scratch activations of one image. */
struct activations {
    float conv1[C1 * 28 * 28], pool1[C1 * 14 * 14];
    float conv2[C2 * 10 * 10], pool2[F0];
    float fc1[F1], fc2[F2], fc3[F3];
};

/* LeNet's input from an 8x8 digit (0..16): value / 16, each pixel repeated 3x3, 4 zero pixels of margin. */
static void digit_to_input(const unsigned char *pixels, float *input)
{
    for (int y = 0; y < IN; y++)
        for (int x = 0; x < IN; x++) {
            int inside = y >= 4 && y < 28 && x >= 4 && x < 28;
            input[y * IN + x] = inside ? (float)pixels[(y - 4) / 3 * 8 + (x - 4) / 3] / 16.0f : 0.0f;
        }
}

/* Valid 5x5 convolution of in_ch maps of side n, then ReLU: out_ch maps of side n - 4. */
static void conv_relu(const float *in, int in_ch, int n, const float *w, const float *b, int out_ch, float *out)
{
    int m = n - K + 1;
    for (int o = 0; o < out_ch; o++)
        for (int y = 0; y < m; y++)
            for (int x = 0; x < m; x++) {
                float acc = b[o];
                for (int c = 0; c < in_ch; c++)
                    for (int ky = 0; ky < K; ky++)
                        for (int kx = 0; kx < K; kx++)
                            acc += w[((o * in_ch + c) * K + ky) * K + kx] * in[(c * n + y + ky) * n + x + kx];
                out[(o * m + y) * m + x] = acc > 0.0f ? acc : 0.0f;
            }
}

/* 2x2 max pooling with stride 2 of ch maps of side n. */
static void max_pool(const float *in, int ch, int n, float *out)
{
    int m = n / 2;
    for (int c = 0; c < ch; c++)
        for (int y = 0; y < m; y++)
            for (int x = 0; x < m; x++) {
                const float *p = in + (c * n + 2 * y) * n + 2 * x;
                float best = p[0];
                if (p[1] > best) best = p[1];
                if (p[n] > best) best = p[n];
                if (p[n + 1] > best) best = p[n + 1];
                out[(c * m + y) * m + x] = best;
            }
}

/* Fully connected layer out = w * in + b, with ReLU when relu is set. */
static void dense(const float *in, int n_in, const float *w, const float *b, int n_out, int relu, float *out)
{
    for (int o = 0; o < n_out; o++) {
        float acc = b[o];
        for (int i = 0; i < n_in; i++)
            acc += w[o * n_in + i] * in[i];
        out[o] = relu && !(acc > 0.0f) ? 0.0f : acc;
    }
}

/* The predicted digit of one 32x32 input. */
static unsigned char classify(const float *input, struct activations *a)
{
    conv_relu(input, 1, IN, lenet_conv1_w, lenet_conv1_b, C1, a->conv1);
    max_pool(a->conv1, C1, 28, a->pool1);
    conv_relu(a->pool1, C1, 14, lenet_conv2_w, lenet_conv2_b, C2, a->conv2);
    max_pool(a->conv2, C2, 10, a->pool2);
    dense(a->pool2, F0, lenet_fc1_w, lenet_fc1_b, F1, 1, a->fc1);
    dense(a->fc1, F1, lenet_fc2_w, lenet_fc2_b, F2, 1, a->fc2);
    dense(a->fc2, F2, lenet_fc3_w, lenet_fc3_b, F3, 0, a->fc3);
    int best = 0;
    for (int d = 1; d < F3; d++)
        if (a->fc3[d] > a->fc3[best])
            best = d;
    return (unsigned char)best;
}

static void kernel_lenet(int count, const float *inputs, struct activations *a, unsigned char *predicted)
{
    for (int i = 0; i < count; i++)
        predicted[i] = classify(inputs + (long)i * IN * IN, a);
}

/* The layer shapes the generated header declares must be the ones this program computes. */
static int shapes_match(void)
{
    const int *got[] = {conv1_shape, conv2_shape, fc1_shape, fc2_shape, fc3_shape};
    const int want[][4] = {{C1, 1, K, K}, {C2, C1, K, K}, {F1, F0, 1, 1}, {F2, F1, 1, 1}, {F3, F2, 1, 1}};
    for (int l = 0; l < 5; l++)
        for (int d = 0; d < 4; d++)
            if (got[l][d] != want[l][d])
                return 0;
    return 1;
}

int main(int argc, char **argv)
{
    const char *size = argc > 1 ? argv[1] : "default";
    int count = strcmp(size, "small") == 0 ? SMALL_COUNT : strcmp(size, "default") == 0 ? LENET_N_TEST : -1;
    if (count < 0 || count > LENET_N_TEST || !shapes_match()) {
        fprintf(stderr, "lenet: size must be default or small (got %s), and the weights LeNet-5's\n", size);
        return 2;
    }
    float *inputs = hwprof_alloc((size_t)count * IN * IN * sizeof(float));
    unsigned char *predicted = hwprof_alloc((size_t)count);
    struct activations *a = hwprof_alloc(sizeof *a);
    for (int i = 0; i < count; i++)
        digit_to_input(lenet_test_pixels + i * 64, inputs + (long)i * IN * IN);

    bench_start();
    kernel_lenet(count, inputs, a, predicted);
    bench_end();

    int correct = 0;
    for (int i = 0; i < count; i++)
        correct += predicted[i] == lenet_test_labels[i];
    printf("correct: %d of %d\n", correct, count);
    printf("accuracy: %.4f\n", (double)correct / count);
    hwprof_checksum_bytes(predicted, (size_t)count);
    if (argc > 2 && strcmp(argv[2], "dump") == 0) {
        int *labels = hwprof_alloc((size_t)count * sizeof(int));
        for (int i = 0; i < count; i++)
            labels[i] = predicted[i];
        hwprof_dump_begin();
        hwprof_dump_int("predicted", labels, count);
        hwprof_dump_end();
        free(labels);
    }
    free(inputs); free(predicted); free(a);
    return 0;
}
