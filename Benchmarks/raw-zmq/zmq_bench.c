/*
 * The baseline for Agora's messaging benchmark: the same DEALER -> ROUTER traffic as
 * Benchmarks/Sources/MessagingBench, written against raw libzmq with no encoding,
 * no queues and no Swift. Each side has its own context and thread, as Agora's
 * endpoints do.
 *
 *   zmq_bench throughput SIZE COUNT   one-way: the dealer sends COUNT messages of SIZE bytes
 *   zmq_bench latency SIZE COUNT      round trips: the router echoes each message back
 *   zmq_bench ingest SIZE COUNT CONNS the baseline for the master's status-update ingest
 *                                     (Benchmarks/master-ingest.py): CONNS dealers in a
 *                                     child process send COUNT messages of SIZE bytes in
 *                                     all to a router in this process that only receives
 *                                     them; reports the rate and this process's CPU time
 *                                     (its receiving thread and libzmq I/O thread) per message.
 *
 * Prints one JSON line with the result.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
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

/* One dealer of the ingest mode: sends its share of the messages, then waits for "done". */
struct ingest_sender {
    pthread_t thread;
    long count;
};

static void *ingest_send(void *argument) {
    struct ingest_sender *sender = argument;
    void *ctx = zmq_ctx_new();
    void *dealer = make_socket(ctx, ZMQ_DEALER);
    check(zmq_connect(dealer, endpoint), "connect");
    char *payload = calloc(1, payload_size);
    for (long i = 0; i < sender->count; i++) {
        memcpy(payload, &i, sizeof i < payload_size ? sizeof i : payload_size);
        check(zmq_send(dealer, payload, payload_size, 0), "send");
    }
    char done[8];
    check(zmq_recv(dealer, done, sizeof done, 0), "recv done");
    free(payload);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    return NULL;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6
        + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

/* The ingest mode. The senders run in a child process (forked before this process
 * creates any ZeroMQ context), so getrusage here counts only the receiving side. */
static int run_ingest(long connections) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        close(pipe_fds[1]);
        ssize_t length = read(pipe_fds[0], endpoint, sizeof endpoint - 1);
        if (length <= 0) _exit(1);
        endpoint[length] = '\0';
        struct ingest_sender *senders = calloc((size_t)connections, sizeof *senders);
        for (long c = 0; c < connections; c++) {
            senders[c].count = message_count / connections + (c < message_count % connections ? 1 : 0);
            pthread_create(&senders[c].thread, NULL, ingest_send, &senders[c]);
        }
        for (long c = 0; c < connections; c++) pthread_join(senders[c].thread, NULL);
        free(senders);
        _exit(0);
    }
    close(pipe_fds[0]);
    void *ctx = zmq_ctx_new();
    void *router = make_socket(ctx, ZMQ_ROUTER);
    check(zmq_bind(router, "tcp://127.0.0.1:*"), "bind");
    size_t length = sizeof endpoint;
    check(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &length), "LAST_ENDPOINT");
    if (write(pipe_fds[1], endpoint, strlen(endpoint)) != (ssize_t)strlen(endpoint)) {
        perror("write");
        return 1;
    }
    close(pipe_fds[1]);

    /* Each dealer's identity, to tell it "done" at the end. */
    char (*identities)[256] = calloc((size_t)connections, sizeof *identities);
    int *identity_sizes = calloc((size_t)connections, sizeof *identity_sizes);
    long known = 0;
    char identity[256];
    char *buffer = malloc(payload_size);
    double start = 0, cpu_start = 0;
    for (long i = 0; i < message_count; i++) {
        int identity_size = zmq_recv(router, identity, sizeof identity, 0);
        check(identity_size, "recv identity");
        if (i == 0) {
            start = now_seconds();
            cpu_start = cpu_seconds();
        }
        check(zmq_recv(router, buffer, payload_size, 0), "recv payload");
        long k = 0;
        while (k < known && (identity_sizes[k] != identity_size || memcmp(identities[k], identity, (size_t)identity_size) != 0)) k++;
        if (k == known && known < connections) {
            memcpy(identities[known], identity, (size_t)identity_size);
            identity_sizes[known++] = identity_size;
        }
    }
    double elapsed = now_seconds() - start;
    double cpu = cpu_seconds() - cpu_start;
    for (long k = 0; k < known; k++) {
        check(zmq_send(router, identities[k], (size_t)identity_sizes[k], ZMQ_SNDMORE), "send identity");
        check(zmq_send(router, "done", 4, 0), "send done");
    }
    int status = 0;
    waitpid(child, &status, 0);
    /* The clock starts at the first arrival, so count the messages after it. */
    double rate = (double)(message_count - 1) / elapsed;
    printf("{\"impl\":\"libzmq\",\"mode\":\"ingest\",\"size\":%zu,\"count\":%ld,\"connections\":%ld,"
           "\"seconds\":%.4f,\"msgs_per_sec\":%.0f,\"cpu_seconds\":%.4f,\"cpu_us_per_msg\":%.3f}\n",
           payload_size, message_count, connections, elapsed, rate, cpu, cpu / (double)(message_count - 1) * 1e6);
    free(buffer);
    free(identities);
    free(identity_sizes);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int ingest = argc == 5 && strcmp(argv[1], "ingest") == 0;
    if (!ingest && (argc != 4 || (strcmp(argv[1], "throughput") != 0 && strcmp(argv[1], "latency") != 0))) {
        fprintf(stderr, "usage: %s throughput|latency SIZE COUNT\n       %s ingest SIZE COUNT CONNECTIONS\n",
                argv[0], argv[0]);
        return 2;
    }
    payload_size = (size_t)atol(argv[2]);
    message_count = atol(argv[3]);
    if (payload_size < 1 || message_count < 2) {
        fprintf(stderr, "SIZE must be positive and COUNT at least 2\n");
        return 2;
    }
    if (ingest) {
        long connections = atol(argv[4]);
        if (connections < 1 || connections > message_count) {
            fprintf(stderr, "CONNECTIONS must be between 1 and COUNT\n");
            return 2;
        }
        return run_ingest(connections);
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
