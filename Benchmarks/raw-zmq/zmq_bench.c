/*
 * The baseline for Agora's messaging benchmark: the same DEALER -> ROUTER traffic as
 * Benchmarks/Sources/MessagingBench, written against raw libzmq with no encoding,
 * no queues and no Swift. Each side has its own context and thread, as Agora's
 * endpoints do.
 *
 *   zmq_bench throughput SIZE COUNT   one-way: the dealer sends COUNT messages of SIZE bytes
 *   zmq_bench latency SIZE COUNT      round trips: the router echoes each message back
 *
 * Prints one JSON line with the result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static size_t payload_size;
static long message_count;
static char endpoint[256];

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, const char *what) {
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", what, zmq_strerror(zmq_errno()));
        exit(1);
    }
}

static void *make_socket(void *ctx, int type) {
    void *socket = zmq_socket(ctx, type);
    int hwm = 100000, linger = 0;
    check(zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm), "SNDHWM");
    check(zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm), "RCVHWM");
    check(zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger), "LINGER");
    return socket;
}

static void *dealer_throughput(void *unused) {
    (void)unused;
    void *ctx = zmq_ctx_new();
    void *dealer = make_socket(ctx, ZMQ_DEALER);
    check(zmq_connect(dealer, endpoint), "connect");
    char *payload = calloc(1, payload_size);
    for (long i = 0; i < message_count; i++) {
        memcpy(payload, &i, sizeof i < payload_size ? sizeof i : payload_size);
        check(zmq_send(dealer, payload, payload_size, 0), "send");
    }
    /* Wait for the router's "done" so nothing is discarded by linger 0. */
    char done[8];
    check(zmq_recv(dealer, done, sizeof done, 0), "recv done");
    free(payload);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    return NULL;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "throughput") != 0 && strcmp(argv[1], "latency") != 0)) {
        fprintf(stderr, "usage: %s throughput|latency SIZE COUNT\n", argv[0]);
        return 2;
    }
    payload_size = (size_t)atol(argv[2]);
    message_count = atol(argv[3]);
    if (payload_size < 1 || message_count < 1) {
        fprintf(stderr, "SIZE and COUNT must be positive\n");
        return 2;
    }

    void *ctx = zmq_ctx_new();
    void *router = make_socket(ctx, ZMQ_ROUTER);
    check(zmq_bind(router, "tcp://127.0.0.1:*"), "bind");
    size_t length = sizeof endpoint;
    check(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &length), "LAST_ENDPOINT");

    char identity[256];
    char *buffer = malloc(payload_size);
    if (strcmp(argv[1], "throughput") == 0) {
        pthread_t thread;
        pthread_create(&thread, NULL, dealer_throughput, NULL);
        double start = 0;
        int identity_size = 0;
        for (long i = 0; i < message_count; i++) {
            identity_size = zmq_recv(router, identity, sizeof identity, 0);
            check(identity_size, "recv identity");
            if (i == 0) start = now_seconds();
            check(zmq_recv(router, buffer, payload_size, 0), "recv payload");
        }
        double elapsed = now_seconds() - start;
        check(zmq_send(router, identity, (size_t)identity_size, ZMQ_SNDMORE), "send identity");
        check(zmq_send(router, "done", 4, 0), "send done");
        pthread_join(thread, NULL);
        /* The clock starts at the first arrival, so count the messages after it. */
        double rate = (double)(message_count - 1) / elapsed;
        printf("{\"impl\":\"libzmq\",\"mode\":\"throughput\",\"size\":%zu,\"count\":%ld,"
               "\"msgs_per_sec\":%.0f,\"mb_per_sec\":%.1f}\n",
               payload_size, message_count, rate, rate * (double)payload_size / 1e6);
    } else {
        void *dealer_ctx = zmq_ctx_new();
        void *dealer = make_socket(dealer_ctx, ZMQ_DEALER);
        check(zmq_connect(dealer, endpoint), "connect");
        char *payload = calloc(1, payload_size);
        double *samples = malloc(sizeof(double) * (size_t)message_count);
        for (long i = -100; i < message_count; i++) { /* 100 warm-up round trips */
            double start = now_seconds();
            check(zmq_send(dealer, payload, payload_size, 0), "send");
            int identity_size = zmq_recv(router, identity, sizeof identity, 0);
            check(identity_size, "recv identity");
            check(zmq_recv(router, buffer, payload_size, 0), "recv payload");
            check(zmq_send(router, identity, (size_t)identity_size, ZMQ_SNDMORE), "echo identity");
            check(zmq_send(router, buffer, payload_size, 0), "echo payload");
            check(zmq_recv(dealer, payload, payload_size, 0), "recv echo");
            if (i >= 0) samples[i] = now_seconds() - start;
        }
        qsort(samples, (size_t)message_count, sizeof(double), compare_doubles);
        printf("{\"impl\":\"libzmq\",\"mode\":\"latency\",\"size\":%zu,\"count\":%ld,"
               "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
               payload_size, message_count, samples[message_count / 2] * 1e6,
               samples[(long)((double)message_count * 0.99)] * 1e6);
        free(samples);
        free(payload);
        zmq_close(dealer);
        zmq_ctx_term(dealer_ctx);
    }
    free(buffer);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}
