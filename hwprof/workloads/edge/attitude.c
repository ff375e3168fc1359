/*
 * Edge application: attitude estimation from MARG samples (gyroscope, accelerometer, magnetometer) with
 * a nonlinear complementary filter: the explicit complementary filter with gyro-bias estimation of
 * Mahony, Hamel and Pflimlin, "Nonlinear complementary filters on the special orthogonal group",
 * IEEE Trans. Automatic Control 53(5), 2008, written in quaternion form:
 *   w_mes = sum_i k_i v_i x v_i_est,  b' = -k_I w_mes,  q' = q (x) (0, w_gyro - b + k_P w_mes) / 2,
 * with v_i the measured and v_i_est = R(q)^T v0_i the predicted body-frame directions. The magnetic
 * reference v0 is the measured field rotated to the earth frame and folded into the north-down plane,
 * as in Madgwick, Harrison and Vaidyanathan, "Estimation of IMU and MARG orientation using a gradient
 * descent algorithm", ICORR 2011 (magnetic distortion compensation), so the magnetometer steers heading.
 *
 * Input: a simulated drive at DRIVE_RATE_HZ (generated header attitude_drive.h): body rates with bias
 * and noise, gravity (the drive has no linear acceleration) and earth's field in the body frame with
 * noise, and the true attitude.
 * Sizes: SMALL_DATASET uses the first 10 s, otherwise all 60 s. Frames: NED earth frame, body x
 * forward, y right, z down; roll, pitch, yaw are ZYX Euler angles in degrees. Prints the final
 * angles and the RMS error against the truth; with the argument "dump", the estimated roll, pitch,
 * yaw after every sample go to stderr in PolyBench's dump format.
 */
#include <math.h>

#include "../common/hwprof_bench.h"
#include "attitude_drive.h"

#if defined(SMALL_DATASET)
#define SAMPLES (10 * DRIVE_RATE_HZ)
#else
#define SAMPLES DRIVE_SAMPLES
#endif

#define KP 1.0      /* proportional gain on the vector-alignment error, rad/s */
#define KI 0.3      /* integral gain feeding the gyro-bias estimate, rad/s^2 */
#define K_ACC 1.0   /* weight of the gravity direction in the error */
#define K_MAG 2.0   /* weight of the field direction: only its horizontal part (cos 64 deg) steers heading */

static const double DEG = 180.0 / 3.14159265358979323846;

struct filter {
    double q[4];    /* body-to-earth rotation, scalar first */
    double bias[3]; /* gyro-bias estimate, rad/s */
};

static void normalise3(double v[3])
{
    double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (n > 0.0) {
        v[0] /= n; v[1] /= n; v[2] /= n;
    }
}

static void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* r = R(q) v (transpose = 0) or R(q)^T v (transpose = 1). */
static void rotate(const double q[4], const double v[3], int transpose, double r[3])
{
    double w = q[0], x = q[1], y = q[2], z = q[3];
    double m[3][3] = {
        {1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
        {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
        {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)},
    };
    for (int i = 0; i < 3; i++)
        r[i] = transpose ? m[0][i] * v[0] + m[1][i] * v[1] + m[2][i] * v[2]
                         : m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2];
}

/* Start from the first sample alone: tilt from gravity, heading from the levelled magnetic field. */
static void filter_init(struct filter *f, const float acc[3], const float mag[3])
{
    double roll = atan2(-(double)acc[1], -(double)acc[2]);
    double pitch = atan2((double)acc[0], sqrt((double)acc[1] * acc[1] + (double)acc[2] * acc[2]));
    double cr = cos(roll), sr = sin(roll), cp = cos(pitch), sp = sin(pitch);
    double hx = cp * mag[0] + sp * (sr * mag[1] + cr * mag[2]);
    double hy = cr * mag[1] - sr * mag[2];
    double yaw = atan2(-hy, hx);
    double c1 = cos(roll / 2), s1 = sin(roll / 2), c2 = cos(pitch / 2), s2 = sin(pitch / 2);
    double c3 = cos(yaw / 2), s3 = sin(yaw / 2);
    f->q[0] = c1 * c2 * c3 + s1 * s2 * s3;
    f->q[1] = s1 * c2 * c3 - c1 * s2 * s3;
    f->q[2] = c1 * s2 * c3 + s1 * c2 * s3;
    f->q[3] = c1 * c2 * s3 - s1 * s2 * c3;
    f->bias[0] = f->bias[1] = f->bias[2] = 0.0;
}

/* One filter step of dt seconds: correct the rate with the measured directions, then integrate it. */
static void filter_update(struct filter *f, const float gyr[3], const float acc[3], const float mag[3], double dt)
{
    static const double up[3] = {0.0, 0.0, -1.0}; /* NED; the accelerometer at rest measures -gravity */
    double a[3] = {acc[0], acc[1], acc[2]}, m[3] = {mag[0], mag[1], mag[2]};
    double a_est[3], h[3], m_est[3], ea[3], em[3], w[3];
    normalise3(a);
    normalise3(m);
    rotate(f->q, up, 1, a_est);
    rotate(f->q, m, 0, h);
    double b[3] = {sqrt(h[0] * h[0] + h[1] * h[1]), 0.0, h[2]};
    rotate(f->q, b, 1, m_est);
    cross(a, a_est, ea);
    cross(m, m_est, em);
    for (int i = 0; i < 3; i++) {
        double err = K_ACC * ea[i] + K_MAG * em[i];
        f->bias[i] -= KI * err * dt;
        w[i] = gyr[i] - f->bias[i] + KP * err;
    }
    /* q <- q (x) exp(w dt / 2): the exact rotation for a rate held constant over the step. */
    double rate = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
    double half = 0.5 * rate * dt, c = cos(half), s = rate > 0.0 ? sin(half) / rate : 0.0;
    double d[4] = {c, s * w[0], s * w[1], s * w[2]}, *q = f->q;
    double n0 = q[0] * d[0] - q[1] * d[1] - q[2] * d[2] - q[3] * d[3];
    double n1 = q[0] * d[1] + q[1] * d[0] + q[2] * d[3] - q[3] * d[2];
    double n2 = q[0] * d[2] - q[1] * d[3] + q[2] * d[0] + q[3] * d[1];
    double n3 = q[0] * d[3] + q[1] * d[2] - q[2] * d[1] + q[3] * d[0];
    double norm = sqrt(n0 * n0 + n1 * n1 + n2 * n2 + n3 * n3);
    q[0] = n0 / norm; q[1] = n1 / norm; q[2] = n2 / norm; q[3] = n3 / norm;
}

static void euler_deg(const double q[4], double out[3])
{
    double sp = 2 * (q[0] * q[2] - q[1] * q[3]);
    sp = sp > 1.0 ? 1.0 : (sp < -1.0 ? -1.0 : sp);
    out[0] = DEG * atan2(2 * (q[0] * q[1] + q[2] * q[3]), 1 - 2 * (q[1] * q[1] + q[2] * q[2]));
    out[1] = DEG * asin(sp);
    out[2] = DEG * atan2(2 * (q[0] * q[3] + q[1] * q[2]), 1 - 2 * (q[2] * q[2] + q[3] * q[3]));
}

/* The kernel: run the filter over n samples, writing roll, pitch, yaw (degrees) after each one. */
static void track(int n, double *est)
{
    struct filter f;
    filter_init(&f, drive_accel[0], drive_mag[0]);
    euler_deg(f.q, est);
    for (int i = 1; i < n; i++) {
        filter_update(&f, drive_gyro[i], drive_accel[i], drive_mag[i], 1.0 / DRIVE_RATE_HZ);
        euler_deg(f.q, est + 3 * i);
    }
}

static double wrap_deg(double a)
{
    return a - 360.0 * floor((a + 180.0) / 360.0);
}

int main(int argc, char **argv)
{
    static const char *axis[3] = {"roll", "pitch", "yaw"};
    double *est = hwprof_alloc(sizeof(double) * 3 * SAMPLES);

    bench_start();
    track(SAMPLES, est);
    bench_end();

    double total = 0.0;
    for (int k = 0; k < 3; k++) {
        double sq = 0.0;
        for (int i = 0; i < SAMPLES; i++) {
            double e = wrap_deg(est[3 * i + k] - drive_truth[i][k]);
            sq += e * e;
        }
        total += sq;
        printf("%s: %.6f true: %.6f rms_error_deg: %.6f\n", axis[k], est[3 * (SAMPLES - 1) + k],
               (double)drive_truth[SAMPLES - 1][k], sqrt(sq / SAMPLES));
    }
    printf("rms_error_deg: %.6f\n", sqrt(total / (3.0 * SAMPLES)));
    hwprof_checksum_double(est, 3L * SAMPLES);
    if (hwprof_dump_requested(argc, argv)) {
        hwprof_dump_begin();
        hwprof_dump_double("angles", est, 3L * SAMPLES);
        hwprof_dump_end();
    }
    free(est);
    return 0;
}
