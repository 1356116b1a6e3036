/*
 * connecttones: spandsp's modem connect tone detector as a test oracle.
 *
 *   connecttones TYPE < pcm
 *
 * reads 8 kHz 16-bit little-endian mono samples from stdin, runs
 * modem_connect_tones_rx for the tone type TYPE (spandsp's
 * MODEM_CONNECT_TONES_* number, e.g. 5 for ANSam with phase reversals)
 * and prints one line "tone CODE LEVEL DELAY SAMPLE" for every report,
 * SAMPLE being the number of samples fed when it came.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <spandsp.h>

static long fed;

static void report(void *user_data, int code, int level, int delay)
{
    (void) user_data;
    printf("tone %d %d %d %ld\n", code, level, delay, fed);
}

int main(int argc, char **argv)
{
    modem_connect_tones_rx_state_t *s;
    int16_t buf[160];
    size_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: connecttones TYPE < pcm\n");
        return 2;
    }
    s = modem_connect_tones_rx_init(NULL, atoi(argv[1]), report, NULL);
    if (s == NULL) {
        fprintf(stderr, "modem_connect_tones_rx_init failed\n");
        return 1;
    }
    while ((n = fread(buf, sizeof(int16_t), 160, stdin)) > 0) {
        fed += (long) n;
        modem_connect_tones_rx(s, buf, (int) n);
    }
    printf("end %d\n", modem_connect_tones_rx_get(s));
    modem_connect_tones_rx_free(s);
    return 0;
}
