/*
 * oracle.c - a command-line window onto spandsp, used by dsp's tests
 * as the reference implementation. Built at test time with
 *     gcc -O2 oracle.c -lspandsp -lm
 * All audio is raw little-endian int16 on stdin/stdout; codes are raw bytes.
 *
 *   oracle ulaw-enc | ulaw-dec | alaw-enc | alaw-dec
 *   oracle dtmf-rx [twist reverse_twist threshold_dbm0]
 *       prints "digit <c> <start_sample> <end_sample>" per digit
 *       (realtime callback; end is -1 when the input ended during the digit)
 *   oracle adsi-tx <standard>     message bytes on stdin -> audio on stdout
 *   oracle adsi-rx <standard>     audio on stdin -> "msg <hex>" lines
 *   oracle g722-enc | g722-dec    64 kbit/s, 16 kHz audio
 *   oracle echo <taps> <mode>     interleaved (tx, rx) pairs in -> clean rx out
 *   oracle plc <frame_len>        stdin: uint32 frame count n, n loss flags
 *       (1 = lost), n*frame_len samples; stdout: the samples after plc_rx /
 *       plc_fillin (lost frames are concealed, good ones passed through plc_rx)
 *   oracle time <kernel> <reps>   input on stdin, prints "ns_per_frame <x>"
 *       where a frame is 80 samples (10 ms) of the kernel's input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <spandsp.h>

static uint8_t *read_all(size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    *n = len;
    return buf;
}

/* Results go to out, normally stdout; commands whose spandsp code prints
   debug text on stdout (echo_can in 0.0.6) move stdout to /dev/null. */
static FILE *out;

static void write_all(const void *p, size_t n)
{
    if (n > 0 && fwrite(p, 1, n, out) != n)
        exit(3);
}

static void quiet_stdout(void)
{
    fflush(stdout);
    out = fdopen(dup(1), "wb");
    if (out == NULL || freopen("/dev/null", "w", stdout) == NULL)
        exit(3);
}

/* ---- DTMF ---- */
struct dtmf_ctx {
    long pos;          /* samples fed before the current chunk */
    int cur;           /* digit in progress, 0 none */
    long start;
};

static void dtmf_rt(void *user, int code, int level, int delay)
{
    struct dtmf_ctx *c = user;
    (void) level;
    (void) delay;
    if (code) {
        if (c->cur)
            printf("digit %c %ld %ld\n", c->cur, c->start, c->pos);
        c->cur = code;
        c->start = c->pos;
    } else if (c->cur) {
        printf("digit %c %ld %ld\n", c->cur, c->start, c->pos);
        c->cur = 0;
    }
}

static void dtmf_digits(void *user, const char *d, int len)
{
    (void) user;
    (void) d;
    (void) len;
}

static int run_dtmf(int argc, char **argv, const int16_t *x, size_t n, int quiet)
{
    struct dtmf_ctx c = {0, 0, 0};
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, dtmf_digits, NULL);
    if (!quiet)
        dtmf_rx_set_realtime_callback(s, dtmf_rt, &c);
    if (argc >= 3)
        dtmf_rx_parms(s, -1, atoi(argv[0]), atoi(argv[1]), atoi(argv[2]));
    for (size_t i = 0; i < n; i += 80) {
        int k = (n - i < 80) ? (int) (n - i) : 80;
        dtmf_rx(s, x + i, k);
        c.pos = (long) (i + k);
    }
    if (!quiet && c.cur)
        printf("digit %c %ld -1\n", c.cur, c.start);
    dtmf_rx_free(s);
    return 0;
}

/* ---- ADSI ---- */
static void adsi_put(void *user, const uint8_t *msg, int len)
{
    int *quiet = user;
    if (*quiet || len < 0)
        return;
    printf("msg ");
    for (int i = 0; i < len; i++)
        printf("%02x", msg[i]);
    printf("\n");
}

static int run_adsi_rx(int standard, const int16_t *x, size_t n, int quiet)
{
    adsi_rx_state_t *s = adsi_rx_init(NULL, standard, adsi_put, &quiet);
    for (size_t i = 0; i < n; i += 80) {
        int k = (n - i < 80) ? (int) (n - i) : 80;
        adsi_rx(s, x + i, k);
    }
    adsi_rx_free(s);
    return 0;
}

static int run_adsi_tx(int standard, const uint8_t *msg, size_t n)
{
    adsi_tx_state_t *s = adsi_tx_init(NULL, standard);
    int16_t buf[160];
    int r = adsi_tx_put_message(s, msg, (int) n);
    if (r <= 0) {
        fprintf(stderr, "adsi_tx_put_message: %d\n", r);
        return 2;
    }
    /* adsi_tx pads with silence once the message is out; stop after a
       run of 100 ms of silence following some signal. */
    int started = 0, quiet = 0;
    for (int blocks = 0; blocks < 2000; blocks++) {
        int k = adsi_tx(s, buf, 160);
        int any = 0;
        for (int i = 0; i < k; i++)
            if (buf[i])
                any = 1;
        write_all(buf, sizeof(int16_t) * k);
        if (any) {
            started = 1;
            quiet = 0;
        } else if (started && ++quiet >= 5) {
            break;
        }
        if (k < 160 && started)
            break;
    }
    adsi_tx_free(s);
    return 0;
}

/* ---- G.722 ---- */
static int run_g722_enc(const int16_t *x, size_t n, uint8_t *out)
{
    g722_encode_state_t *s = g722_encode_init(NULL, 64000, 0);
    int k = g722_encode(s, out, x, (int) n);
    g722_encode_free(s);
    return k;
}

static int run_g722_dec(const uint8_t *x, size_t n, int16_t *out)
{
    g722_decode_state_t *s = g722_decode_init(NULL, 64000, 0);
    int k = g722_decode(s, out, x, (int) n);
    g722_decode_free(s);
    return k;
}

/* ---- echo ---- */
static void run_echo(int taps, int mode, const int16_t *x, size_t pairs, int16_t *out)
{
    echo_can_state_t *ec = echo_can_init(taps, mode);
    for (size_t i = 0; i < pairs; i++)
        out[i] = echo_can_update(ec, x[2 * i], x[2 * i + 1]);
    echo_can_free(ec);
}

/* ---- PLC ---- */
static int run_plc(int flen, const uint8_t *in, size_t n)
{
    if (flen <= 0 || n < 4)
        return 2;
    uint32_t frames;
    memcpy(&frames, in, 4);
    if (n < 4 + frames + (size_t) frames * flen * 2)
        return 2;
    const uint8_t *lost = in + 4;
    int16_t *x = malloc((size_t) frames * flen * 2 + 2);
    memcpy(x, in + 4 + frames, (size_t) frames * flen * 2);
    plc_state_t *s = plc_init(NULL);
    for (uint32_t f = 0; f < frames; f++) {
        if (lost[f])
            plc_fillin(s, x + (size_t) f * flen, flen);
        else
            plc_rx(s, x + (size_t) f * flen, flen);
    }
    write_all(x, (size_t) frames * flen * 2);
    plc_free(s);
    free(x);
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static volatile int sink;

/* run_time times one kernel over the input, reps times; prints ns per
   80-sample (10 ms) frame of the kernel's narrowband input. */
static int run_time(const char *k, int reps, const uint8_t *in, size_t n)
{
    const int16_t *x = (const int16_t *) in;
    size_t ns = n / 2;
    double frames = 0, t0 = now_ns();
    uint8_t *ob = malloc(n + 16);
    int16_t *os = malloc(4 * n + 32); /* g722-dec writes two samples per byte */
    for (int r = 0; r < reps; r++) {
        if (!strcmp(k, "ulaw-enc")) {
            for (size_t i = 0; i < ns; i++)
                ob[i] = linear_to_ulaw(x[i]);
            frames += ns / 80.0;
        } else if (!strcmp(k, "ulaw-dec")) {
            for (size_t i = 0; i < n; i++)
                os[i] = ulaw_to_linear(in[i]);
            frames += n / 80.0;
        } else if (!strcmp(k, "alaw-enc")) {
            for (size_t i = 0; i < ns; i++)
                ob[i] = linear_to_alaw(x[i]);
            frames += ns / 80.0;
        } else if (!strcmp(k, "alaw-dec")) {
            for (size_t i = 0; i < n; i++)
                os[i] = alaw_to_linear(in[i]);
            frames += n / 80.0;
        } else if (!strcmp(k, "dtmf-rx")) {
            run_dtmf(0, NULL, x, ns, 1);
            frames += ns / 80.0;
        } else if (!strncmp(k, "adsi-rx-", 8)) {
            run_adsi_rx(atoi(k + 8), x, ns, 1);
            frames += ns / 80.0;
        } else if (!strcmp(k, "g722-enc")) {
            run_g722_enc(x, ns, ob);
            frames += ns / 160.0; /* 10 ms at 16 kHz */
        } else if (!strcmp(k, "g722-dec")) {
            run_g722_dec(in, n, os);
            frames += n / 80.0;
        } else if (!strcmp(k, "echo-128")) {
            run_echo(512, ECHO_CAN_USE_ADAPTION | ECHO_CAN_USE_NLP, x, ns / 2, os);
            frames += ns / 2 / 80.0;
        } else {
            fprintf(stderr, "time: unknown kernel %s\n", k);
            return 2;
        }
        sink += ob[0] + os[0];
    }
    double t1 = now_ns();
    fprintf(out, "ns_per_frame %.1f\n", (t1 - t0) / frames);
    free(ob);
    free(os);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: oracle command [args]\n");
        return 2;
    }
    const char *cmd = argv[1];
    out = stdout;
    if (!strcmp(cmd, "echo") || (!strcmp(cmd, "time") && argc >= 3 && !strncmp(argv[2], "echo", 4)))
        quiet_stdout();
    size_t n;
    uint8_t *in = read_all(&n);
    const int16_t *x = (const int16_t *) in;
    size_t ns = n / 2;
    int rc = 0;

    if (!strcmp(cmd, "ulaw-enc") || !strcmp(cmd, "alaw-enc")) {
        uint8_t *o = malloc(ns + 1);
        for (size_t i = 0; i < ns; i++)
            o[i] = cmd[0] == 'u' ? linear_to_ulaw(x[i]) : linear_to_alaw(x[i]);
        write_all(o, ns);
    } else if (!strcmp(cmd, "ulaw-dec") || !strcmp(cmd, "alaw-dec")) {
        int16_t *o = malloc(2 * n + 2);
        for (size_t i = 0; i < n; i++)
            o[i] = cmd[0] == 'u' ? ulaw_to_linear(in[i]) : alaw_to_linear(in[i]);
        write_all(o, 2 * n);
    } else if (!strcmp(cmd, "dtmf-rx")) {
        rc = run_dtmf(argc - 2, argv + 2, x, ns, 0);
    } else if (!strcmp(cmd, "adsi-tx") && argc >= 3) {
        rc = run_adsi_tx(atoi(argv[2]), in, n);
    } else if (!strcmp(cmd, "adsi-rx") && argc >= 3) {
        rc = run_adsi_rx(atoi(argv[2]), x, ns, 0);
    } else if (!strcmp(cmd, "g722-enc")) {
        uint8_t *o = malloc(ns + 16);
        write_all(o, run_g722_enc(x, ns, o));
    } else if (!strcmp(cmd, "g722-dec")) {
        int16_t *o = malloc(4 * n + 16);
        write_all(o, 2 * run_g722_dec(in, n, o));
    } else if (!strcmp(cmd, "echo") && argc >= 4) {
        int16_t *o = malloc(n + 2);
        run_echo(atoi(argv[2]), atoi(argv[3]), x, ns / 2, o);
        write_all(o, ns / 2 * 2);
    } else if (!strcmp(cmd, "plc") && argc >= 3) {
        rc = run_plc(atoi(argv[2]), in, n);
    } else if (!strcmp(cmd, "time") && argc >= 4) {
        rc = run_time(argv[2], atoi(argv[3]), in, n);
    } else {
        fprintf(stderr, "oracle: unknown command %s\n", cmd);
        rc = 2;
    }
    fflush(stdout);
    fflush(out);
    return rc;
}
