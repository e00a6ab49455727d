/*
 * The benchmark runner: plans the rows of a suite, runs every sample as a
 * fresh server process and a fresh client process (pinned as the placement
 * says), and is the only writer of the result files:
 *
 *   OUT/expected.txt  the planned rows, written before anything runs
 *   OUT/samples.csv   every sample as measured
 *   OUT/results.csv   one row per (placement, scenario, tier): trimmed medians
 *   OUT/machine.txt   CPU, cores, kernel, date, load before and after
 *
 * Samples run sample-major (sample 1 of every row, then sample 2 ...), so a
 * burst of noise from elsewhere on the machine lands on one sample of many
 * rows, where the trimmed median drops it, rather than on every sample of
 * one row. Each sample gets its own run directory. A failed sample is
 * retried once; a row whose sample still fails is written as "failed" (the
 * report generator then refuses to publish). Nothing is ever dropped.
 *
 * The machine may be shared: for every sample the runner also measures the
 * CPU that other processes used meanwhile (/proc/stat minus the role
 * processes' own rusage). A sample above NOISE_PCT is measured again, at
 * most NOISE_RETRIES times and within a budget for the run, keeping the
 * quietest attempt; every attempt is in samples.csv and the noise summary
 * in machine.txt, which the report prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_SAMPLES 15
#define STABILITY_LIMIT 1.35
#define RATE_TOLERANCE 0.02
#define START_TIMEOUT_MS 20000
#define NOISE_PCT 25     /* others' CPU during a sample (% of one CPU) that triggers a retry */
#define NOISE_RETRIES 2  /* per sample; the run's total is capped at a fifth of its samples */
#define STOP_TIMEOUT_MS 20000

static const uint64_t fixed_tiers[] = {1000, 10000, 100000};
#define FIXED_TIER_COUNT (sizeof fixed_tiers / sizeof fixed_tiers[0])

typedef struct options {
    const char *suite;
    const char *placements[3];
    int nplacements;
    int samples;
    double seconds, fixed_seconds, warm;
    const char *only;
    int max_only;
    const char *work, *out;
} options_t;

typedef struct sample {
    int ok;
    uint64_t ops, elapsed_ns, p50, p95, p99, max;
    uint64_t client_cpu_ns, server_cpu_ns, server_requests;
    int64_t client_allocs, server_allocs;
    long client_rss_kb, server_rss_kb;
    uint64_t client_sleeps, server_sleeps; /* voluntary context switches */
    double foreign_pct; /* CPU used by everything else on the machine meanwhile */
} sample_t;

typedef struct row {
    const scenario_t *sc;
    const char *placement;
    uint64_t rate; /* 0 = max */
    sample_t samples[MAX_SAMPLES];
    int failed;
} row_t;

static options_t opt;
static char self_exe[4096];
static int cpu_a = -1, cpu_b = -1; /* the first two CPUs we may use */
static unsigned run_counter;
static uint64_t children_cpu_ns; /* CPU of the reaped role processes, whole lives */

/* ============================================================ processes */

typedef struct child {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
    char buf[1024];
    size_t len;
} child_t;

/* Starts `exe` pinned to `cpu` (and `cpu2` too when >= 0); cpu < 0: unpinned. */
static int spawn(child_t *c, int cpu, int cpu2, const char *exe, char *const argv[])
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET((size_t)cpu, &set);
            if (cpu2 >= 0)
                CPU_SET((size_t)cpu2, &set);
            if (sched_setaffinity(0, sizeof set, &set) != 0)
                _exit(126);
        }
        execv(exe, argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->to = in[1];
    c->from = out[0];
    c->len = 0;
    return 0;
}

static uint64_t now_ms(void)
{
    return bench_now_ns() / 1000000u;
}

/* Reads one line from the child into `line`; 0, or -1 on EOF / timeout. */
static int read_line(child_t *c, char *line, size_t cap, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            if (n >= cap)
                n = cap - 1;
            memcpy(line, c->buf, n);
            line[n] = 0;
            c->len -= (size_t)(nl - c->buf) + 1;
            memmove(c->buf, nl + 1, c->len);
            return 0;
        }
        uint64_t now = now_ms();
        if (now >= deadline || c->len == sizeof c->buf)
            return -1;
        struct pollfd p = {.fd = c->from, .events = POLLIN};
        int rc = poll(&p, 1, (int)(deadline - now));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t r = read(c->from, c->buf + c->len, sizeof c->buf - c->len);
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
    }
}

static int expect(child_t *c, const char *want, char *line, size_t cap, int timeout_ms)
{
    if (read_line(c, line, cap, timeout_ms) != 0)
        return -1;
    return strncmp(line, want, strlen(want)) == 0 ? 0 : -1;
}

static void tell(child_t *c, const char *cmd)
{
    size_t n = strlen(cmd);
    if (write(c->to, cmd, n) != (ssize_t)n)
        return; /* the child died: its read side reports it */
}

/* Waits for the child to exit; kills it (by its pid) after timeout_ms. */
static int reap(child_t *c, int timeout_ms)
{
    if (c->pid <= 0)
        return -1;
    close(c->to);
    close(c->from);
    int status = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    struct rusage ru;
    for (;;) {
        pid_t r = wait4(c->pid, &status, WNOHANG, &ru);
        if (r == c->pid)
            break;
        if (now_ms() >= deadline) {
            kill(c->pid, SIGKILL);
            wait4(c->pid, &status, 0, &ru);
            c->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    c->pid = 0;
    children_cpu_ns += ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
                       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* CPU time the whole machine spent busy so far (/proc/stat), in ns. */
static uint64_t machine_busy_ns(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7])
              : 0;
    if (f)
        fclose(f);
    if (n != 8)
        return 0;
    /* user nice system [idle iowait] irq softirq steal */
    uint64_t ticks = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* ============================================================ results */

static uint64_t field_u64(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

static int64_t field_i64(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static void parse_client(const char *line, sample_t *s)
{
    s->ops = field_u64(line, "ops");
    s->elapsed_ns = field_u64(line, "elapsed_ns");
    s->p50 = field_u64(line, "p50_ns");
    s->p95 = field_u64(line, "p95_ns");
    s->p99 = field_u64(line, "p99_ns");
    s->max = field_u64(line, "max_ns");
    s->client_cpu_ns = field_u64(line, "client_cpu_ns");
    s->client_allocs = field_i64(line, "client_allocs");
    s->client_rss_kb = (long)field_u64(line, "client_rss_kb");
    s->client_sleeps = field_u64(line, "client_sleeps");
}

static void parse_server(const char *line, sample_t *s)
{
    s->server_cpu_ns = field_u64(line, "server_cpu_ns");
    s->server_allocs = field_i64(line, "server_allocs");
    s->server_requests = field_u64(line, "server_requests");
    s->server_rss_kb = (long)field_u64(line, "server_rss_kb");
    s->server_sleeps = field_u64(line, "server_sleeps");
}

/* ============================================================ one sample */

static void placement_cpus(const char *placement, int *client, int *server)
{
    *client = *server = -1;
    if (strcmp(placement, "same") == 0) {
        *client = *server = cpu_a;
    } else if (strcmp(placement, "split") == 0) {
        *client = cpu_a;
        *server = cpu_b;
    }
}

static void fmt_double(char *out, size_t cap, double v)
{
    snprintf(out, cap, "%.3f", v);
}

static int run_sample(const row_t *row, int index, sample_t *s)
{
    const scenario_t *sc = row->sc;
    memset(s, 0, sizeof *s);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s-%s-%" PRIu64 "-s%d-%u", opt.work, row->placement, sc->name,
             row->rate, index, ++run_counter);
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "runner: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int ccpu, scpu;
    placement_cpus(row->placement, &ccpu, &scpu);
    double seconds = row->rate ? opt.fixed_seconds : opt.seconds;
    char secs[32], warm[32], rate[32], line[1024];
    fmt_double(secs, sizeof secs, seconds);
    fmt_double(warm, sizeof warm, opt.warm);
    snprintf(rate, sizeof rate, "%" PRIu64, row->rate);
    int rc = -1;
    child_t srv = {0}, cli = {0};
    uint64_t busy0 = machine_busy_ns(), mine0 = children_cpu_ns, wall0 = bench_now_ns();
    int timeout = (int)(seconds * 1000) + START_TIMEOUT_MS;

    if (sc->kind == KIND_LOCAL) {
        char *argv[] = {"netipc_bench", "local", (char *)sc->name, dir, secs, warm, NULL};
        /* Reader threads of a split row get both CPUs; the rest one. */
        int cpu2 = sc->threads > 1 && scpu != ccpu ? scpu : -1;
        if (spawn(&cli, ccpu, cpu2, self_exe, argv) == 0 &&
            expect(&cli, "result", line, sizeof line, timeout) == 0) {
            parse_client(line, s);
            rc = 0;
        }
        if (reap(&cli, STOP_TIMEOUT_MS) != 0)
            rc = -1;
    } else {
        char *sargv[] = {"netipc_bench", "server", (char *)sc->name, dir, NULL};
        char *cargv[] = {"netipc_bench", "client", (char *)sc->name, dir, secs, rate, warm, NULL};
        /* A Go row's Go roles run in the Go binary, with the same protocol. */
        const char *sexe = bench_go_role(sc, 1) ? bench_go_exe() : self_exe;
        const char *cexe = bench_go_role(sc, 0) ? bench_go_exe() : self_exe;
        if (spawn(&srv, scpu, -1, sexe, sargv) != 0 ||
            expect(&srv, "ready", line, sizeof line, START_TIMEOUT_MS) != 0)
            goto done;
        if (spawn(&cli, ccpu, -1, cexe, cargv) != 0 ||
            expect(&cli, "warm", line, sizeof line, START_TIMEOUT_MS) != 0)
            goto done;
        tell(&srv, "mark\n");
        if (expect(&srv, "marked", line, sizeof line, START_TIMEOUT_MS) != 0)
            goto done;
        tell(&cli, "go\n");
        if (expect(&cli, "result", line, sizeof line, timeout) != 0)
            goto done;
        parse_client(line, s);
        tell(&srv, "stop\n");
        if (expect(&srv, "result", line, sizeof line, STOP_TIMEOUT_MS) != 0)
            goto done;
        parse_server(line, s);
        rc = 0;
    done:
        if (cli.pid && reap(&cli, STOP_TIMEOUT_MS) != 0)
            rc = -1;
        if (srv.pid && reap(&srv, STOP_TIMEOUT_MS) != 0)
            rc = -1;
    }
    /* Everything else that ran meanwhile, in % of one CPU: the noise. */
    uint64_t busy = machine_busy_ns() - busy0, mine = children_cpu_ns - mine0;
    uint64_t wall = bench_now_ns() - wall0;
    s->foreign_pct = busy > mine && wall ? 100.0 * (double)(busy - mine) / (double)wall : 0;
    if (rc == 0 && (s->ops == 0 || s->elapsed_ns == 0))
        rc = -1;
    /* Every server answered at least what its client counted (the server
     * may not have counted its very last answer yet). */
    if (rc == 0 && sc->kind != KIND_LOCAL && s->server_requests + 1 < s->ops) {
        fprintf(stderr, "runner: %s: server counted %" PRIu64 " requests, client %" PRIu64 "\n",
                sc->name, s->server_requests, s->ops);
        rc = -1;
    }
    if (rmdir(dir) != 0)
        fprintf(stderr, "runner: %s left files behind\n", dir);
    s->ok = rc == 0;
    return rc;
}

/* ============================================================ aggregation */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Trimmed median: drop the lowest and highest (with >= 3 samples), take the
 * median of the rest. *spread = max/min of what was kept, or of every
 * sample when fewer than 3 were kept (a spread of one sample says nothing). */
static double trimmed_median(double *v, int n, double *spread)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int lo = n >= 3 ? 1 : 0, hi = n >= 3 ? n - 2 : n - 1;
    int k = hi - lo + 1;
    double med = k % 2 ? v[lo + k / 2] : (v[lo + k / 2 - 1] + v[lo + k / 2]) / 2;
    if (spread) {
        int a = k >= 3 ? lo : 0, b = k >= 3 ? hi : n - 1;
        *spread = v[a] > 0 ? v[b] / v[a] : 0;
    }
    return med;
}

typedef double (*metric_fn)(const row_t *r, const sample_t *s);

static double m_throughput(const row_t *r, const sample_t *s)
{
    return (double)s->ops * r->sc->items * 1e9 / (double)s->elapsed_ns;
}
static double m_rate(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->ops * 1e9 / (double)s->elapsed_ns;
}
static double m_p50(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->p50;
}
static double m_p95(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->p95;
}
static double m_p99(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->p99;
}
static double m_max(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->max;
}
static double m_ccpu(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->client_cpu_ns / (double)s->ops;
}
static double m_scpu(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->server_cpu_ns / (double)s->ops;
}
static double m_tcpu(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)(s->client_cpu_ns + s->server_cpu_ns) / (double)s->ops;
}
static double m_ccpu_pct(const row_t *r, const sample_t *s)
{
    (void)r;
    return 100.0 * (double)s->client_cpu_ns / (double)s->elapsed_ns;
}
static double m_scpu_pct(const row_t *r, const sample_t *s)
{
    (void)r;
    return 100.0 * (double)s->server_cpu_ns / (double)s->elapsed_ns;
}
static double m_crss(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->client_rss_kb;
}
static double m_srss(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->server_rss_kb;
}

static double m_csleep(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->client_sleeps / (double)s->ops;
}
static double m_ssleep(const row_t *r, const sample_t *s)
{
    (void)r;
    return (double)s->server_sleeps / (double)s->ops;
}

static double aggregate(const row_t *r, metric_fn f, double *spread)
{
    double v[MAX_SAMPLES];
    for (int i = 0; i < opt.samples; i++)
        v[i] = f(r, &r->samples[i]);
    return trimmed_median(v, opt.samples, spread);
}

/* The worst sample: a zero-allocation claim must hold in every sample. */
static double worst_allocs(const row_t *r, int server)
{
    double worst = 0;
    for (int i = 0; i < opt.samples; i++) {
        const sample_t *s = &r->samples[i];
        int64_t a = server ? s->server_allocs : s->client_allocs;
        if (a < 0)
            return -1;
        double per = (double)a / (double)s->ops;
        if (per > worst)
            worst = per;
    }
    return worst;
}

static const char *results_header =
    "suite,placement,scenario,family,transport,tier,target_rps,samples,status,unit,throughput,"
    "achieved_rps,p50_ns,p95_ns,p99_ns,max_ns,client_cpu_ns_per_req,server_cpu_ns_per_req,"
    "cpu_ns_per_req,client_cpu_pct,server_cpu_pct,client_allocs_per_req,server_allocs_per_req,"
    "client_rss_kb,server_rss_kb,spread,reference,target_ratio,client_sleeps_per_req,"
    "server_sleeps_per_req";

static void write_row(FILE *f, const row_t *r)
{
    const scenario_t *sc = r->sc;
    int local = sc->kind == KIND_LOCAL;
    char tier[32];
    if (r->rate)
        snprintf(tier, sizeof tier, "%" PRIu64, r->rate);
    else
        snprintf(tier, sizeof tier, "max");
    const char *unit = sc->items > 1 ? "items/s" : local ? "lookups/s" : "req/s";
    if (r->failed) {
        fprintf(f, "%s,%s,%s,%s,%s,%s,%" PRIu64 ",%d,failed,%s", opt.suite, r->placement,
                sc->name, sc->family, sc->transport, tier, r->rate, opt.samples, unit);
        for (int i = 0; i < 17; i++)
            fputs(",0", f);
        fprintf(f, ",0,%s,%.2f,0,0\n", sc->reference ? sc->reference : "-", sc->target);
        return;
    }
    double spread_tp, spread_p50;
    double tp = aggregate(r, m_throughput, &spread_tp);
    double rate = aggregate(r, m_rate, NULL);
    double p50 = aggregate(r, m_p50, &spread_p50);
    /* Max tier: the throughput must be stable. Fixed tiers: the rate is
     * fixed by construction, so the latency must be. */
    double spread = r->rate ? spread_p50 : spread_tp;
    const char *status = "ok";
    if (r->rate && (rate < (double)r->rate * (1.0 - RATE_TOLERANCE) ||
                    rate > (double)r->rate * (1.0 + RATE_TOLERANCE)))
        status = "missed-target";
    else if (opt.samples >= 3 && spread > STABILITY_LIMIT)
        status = "unstable";
    fprintf(f, "%s,%s,%s,%s,%s,%s,%" PRIu64 ",%d,%s,%s,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,",
            opt.suite, r->placement, sc->name, sc->family, sc->transport, tier, r->rate,
            opt.samples, status, unit, tp, rate, p50, aggregate(r, m_p95, NULL),
            aggregate(r, m_p99, NULL), aggregate(r, m_max, NULL));
    double ca = worst_allocs(r, 0), sa = local ? 0 : worst_allocs(r, 1);
    if (local)
        fprintf(f, "%.1f,-,%.1f,%.1f,-,", aggregate(r, m_ccpu, NULL), aggregate(r, m_ccpu, NULL),
                aggregate(r, m_ccpu_pct, NULL));
    else
        fprintf(f, "%.1f,%.1f,%.1f,%.1f,%.1f,", aggregate(r, m_ccpu, NULL),
                aggregate(r, m_scpu, NULL), aggregate(r, m_tcpu, NULL),
                aggregate(r, m_ccpu_pct, NULL), aggregate(r, m_scpu_pct, NULL));
    if (ca < 0)
        fputs("-,", f);
    else
        fprintf(f, "%.4f,", ca);
    if (local)
        fputs("-,", f);
    else if (sa < 0)
        fputs("-,", f);
    else
        fprintf(f, "%.4f,", sa);
    fprintf(f, "%.0f,", aggregate(r, m_crss, NULL));
    if (local)
        fputs("-,", f);
    else
        fprintf(f, "%.0f,", aggregate(r, m_srss, NULL));
    fprintf(f, "%.3f,%s,%.2f,%.3f,", spread, sc->reference ? sc->reference : "-", sc->target,
            aggregate(r, m_csleep, NULL));
    if (local)
        fputs("-\n", f);
    else
        fprintf(f, "%.3f\n", aggregate(r, m_ssleep, NULL));
}

static void write_sample(FILE *f, const row_t *r, int index, const sample_t *s)
{
    fprintf(f,
            "%s,%s,%s,%" PRIu64 ",%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
            ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRId64 ",%" PRId64
            ",%ld,%ld,%.1f\n",
            opt.suite, r->placement, r->sc->name, r->rate, index + 1, s->ok, s->ops,
            s->elapsed_ns, s->p50, s->p95, s->p99, s->max, s->client_cpu_ns, s->server_cpu_ns,
            s->client_allocs, s->server_allocs, s->client_rss_kb, s->server_rss_kb,
            s->foreign_pct);
    fflush(f);
}

/* ============================================================ machine */

static void loadavg(char *out, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = 0;
    if (f) {
        if (fgets(out, (int)cap, f))
            out[strcspn(out, " ")] = 0;
        fclose(f);
    }
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 1 + strspn(p + 1, " \t");
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static FILE *open_out(const char *name, const char *mode)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", opt.out, name);
    FILE *f = fopen(path, mode);
    if (!f)
        fprintf(stderr, "runner: %s: %s\n", path, strerror(errno));
    return f;
}

static void write_machine(const char *when)
{
    FILE *f = open_out("machine.txt", strcmp(when, "start") == 0 ? "w" : "a");
    if (!f)
        return;
    char buf[512];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "%s_utc=%s\n", when, buf);
    loadavg(buf, sizeof buf);
    fprintf(f, "%s_load1=%s\n", when, buf);
    if (strcmp(when, "start") == 0) {
        struct utsname u;
        uname(&u);
        cpu_model(buf, sizeof buf);
        fprintf(f, "cpu_model=%s\n", buf);
        fprintf(f, "cores_online=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
        fprintf(f, "kernel=%s %s %s\n", u.sysname, u.release, u.machine);
        fprintf(f, "suite=%s\nsamples=%d\nseconds_max=%.2f\nseconds_fixed=%.2f\nwarm=%.2f\n",
                opt.suite, opt.samples, opt.seconds, opt.fixed_seconds, opt.warm);
        fprintf(f, "cpu_client=%d\ncpu_server_split=%d\n", cpu_a, cpu_b);
        fprintf(f, "alloc_counting=%s\n", bench_alloc_counting() ? "yes" : "no");
    }
    fclose(f);
}

/* How busy the rest of the machine was during the samples (median, 90th
 * percentile and max of the per-sample foreign CPU, in % of one CPU). */
static void write_noise(const row_t *rows, int nrows, int retries)
{
    int n = 0;
    double *v = malloc((size_t)nrows * (size_t)opt.samples * sizeof *v);
    FILE *f = open_out("machine.txt", "a");
    if (!v || !f) {
        free(v);
        if (f)
            fclose(f);
        return;
    }
    for (int i = 0; i < nrows; i++)
        for (int k = 0; k < opt.samples; k++)
            if (rows[i].samples[k].ok)
                v[n++] = rows[i].samples[k].foreign_pct;
    fprintf(f, "noise_retries=%d\nnoise_limit_pct=%d\n", retries, NOISE_PCT);
    if (n) {
        qsort(v, (size_t)n, sizeof *v, cmp_double);
        fprintf(f, "foreign_cpu_pct_median=%.1f\nforeign_cpu_pct_p90=%.1f\nforeign_cpu_pct_max=%.1f\n",
                v[n / 2], v[(n * 9) / 10], v[n - 1]);
    }
    fclose(f);
    free(v);
}

/* ============================================================ planning */

static int wanted(const scenario_t *sc)
{
    if (opt.only) {
        size_t n = strlen(sc->name);
        for (const char *p = opt.only; (p = strstr(p, sc->name)); p += n)
            if ((p == opt.only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
                return 1;
        return 0;
    }
    if (strcmp(opt.suite, "quick") == 0)
        return sc->quick;
    return 1;
}

static row_t *plan(int *count)
{
    size_t n;
    const scenario_t *all = bench_scenarios(&n);
    int cap = (int)(n * (1 + FIXED_TIER_COUNT)) * opt.nplacements, k = 0;
    row_t *rows = calloc((size_t)cap, sizeof *rows);
    if (!rows)
        return NULL;
    for (int p = 0; p < opt.nplacements; p++) {
        for (size_t i = 0; i < n; i++) {
            if (!wanted(&all[i]))
                continue;
            rows[k++] = (row_t){.sc = &all[i], .placement = opt.placements[p], .rate = 0};
            if (!all[i].fixed_tiers || opt.max_only)
                continue;
            for (size_t t = 0; t < FIXED_TIER_COUNT; t++) {
                /* The smoke suite exercises pacing once, at the lowest tier. */
                if (strcmp(opt.suite, "smoke") == 0 && t > 0)
                    break;
                rows[k++] = (row_t){.sc = &all[i], .placement = opt.placements[p],
                                    .rate = fixed_tiers[t]};
            }
        }
    }
    *count = k;
    return rows;
}

/* ============================================================ main */

static int parse(int argc, char **argv)
{
    opt = (options_t){.suite = "full", .samples = -1, .seconds = -1, .fixed_seconds = -1,
                      .warm = -1};
    const char *placement = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--suite") == 0)
            opt.suite = v;
        else if (strcmp(a, "--placement") == 0)
            placement = v;
        else if (strcmp(a, "--samples") == 0)
            opt.samples = atoi(v);
        else if (strcmp(a, "--seconds") == 0)
            opt.seconds = atof(v);
        else if (strcmp(a, "--fixed-seconds") == 0)
            opt.fixed_seconds = atof(v);
        else if (strcmp(a, "--warm") == 0)
            opt.warm = atof(v);
        else if (strcmp(a, "--only") == 0)
            opt.only = v;
        else if (strcmp(a, "--max-only") == 0)
            opt.max_only = atoi(v);
        else if (strcmp(a, "--work") == 0)
            opt.work = v;
        else if (strcmp(a, "--out") == 0)
            opt.out = v;
        else
            return -1;
    }
    int smoke = strcmp(opt.suite, "smoke") == 0, quick = strcmp(opt.suite, "quick") == 0;
    if (!smoke && !quick && strcmp(opt.suite, "full") != 0)
        return -1;
    /* Suite defaults; explicit options win. */
    if (opt.samples < 0)
        opt.samples = smoke ? 1 : quick ? 3 : 5;
    if (opt.seconds < 0)
        opt.seconds = smoke ? 0.05 : quick ? 0.5 : 1.0;
    if (opt.fixed_seconds < 0)
        opt.fixed_seconds = smoke ? 0.05 : 0.8;
    if (opt.warm < 0)
        opt.warm = smoke ? 0.02 : quick ? 0.1 : 0.15;
    if (quick)
        opt.max_only = 1;
    if (!placement)
        placement = smoke ? "none" : quick ? "split" : "both";
    if (strcmp(placement, "both") == 0) {
        opt.placements[0] = "same";
        opt.placements[1] = "split";
        opt.nplacements = 2;
    } else if (!strcmp(placement, "same") || !strcmp(placement, "split") ||
               !strcmp(placement, "none")) {
        opt.placements[0] = placement;
        opt.nplacements = 1;
    } else {
        return -1;
    }
    if (opt.samples < 1 || opt.samples > MAX_SAMPLES || !opt.work || !opt.out)
        return -1;
    return 0;
}

static int pick_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET((size_t)i, &set))
            continue;
        if (cpu_a < 0)
            cpu_a = i;
        else if (cpu_b < 0)
            cpu_b = i;
    }
    if (cpu_b < 0)
        cpu_b = cpu_a; /* one CPU: "split" degenerates to "same" (recorded in machine.txt) */
    return cpu_a >= 0 ? 0 : -1;
}

/* mkdir -p */
static void make_dirs(const char *path, mode_t mode)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, mode);
            *p = '/';
        }
    }
    mkdir(buf, mode);
}

int bench_runner_main(int argc, char **argv)
{
    if (parse(argc, argv) != 0) {
        fprintf(stderr, "netipc_bench run: bad options (see netipc_bench with no arguments)\n");
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (n <= 0 || pick_cpus() != 0)
        return 1;
    self_exe[n] = 0;
    signal(SIGPIPE, SIG_IGN);
    make_dirs(opt.work, 0700);
    make_dirs(opt.out, 0755);

    int nrows = 0;
    row_t *rows = plan(&nrows);
    if (!rows || nrows == 0)
        return 1;
    FILE *exp = open_out("expected.txt", "w");
    FILE *res = open_out("results.csv", "w");
    FILE *smp = open_out("samples.csv", "w");
    if (!exp || !res || !smp)
        return 1;
    for (int i = 0; i < nrows; i++) {
        if (rows[i].rate)
            fprintf(exp, "%s,%s,%" PRIu64 "\n", rows[i].placement, rows[i].sc->name,
                    rows[i].rate);
        else
            fprintf(exp, "%s,%s,max\n", rows[i].placement, rows[i].sc->name);
    }
    fclose(exp);
    fprintf(smp, "suite,placement,scenario,target_rps,sample,ok,ops,elapsed_ns,p50_ns,p95_ns,"
                 "p99_ns,max_ns,client_cpu_ns,server_cpu_ns,client_allocs,server_allocs,"
                 "client_rss_kb,server_rss_kb,foreign_cpu_pct\n");
    write_machine("start");

    uint64_t t0 = now_ms();
    /* The smoke suite checks that everything runs, not how fast: no retries. */
    int noise_retries = 0;
    int noise_budget = strcmp(opt.suite, "smoke") == 0 ? 0 : nrows * opt.samples / 5;
    for (int k = 0; k < opt.samples; k++) {
        for (int i = 0; i < nrows; i++) {
            row_t *r = &rows[i];
            if (r->failed)
                continue;
            sample_t *s = &r->samples[k];
            if (run_sample(r, k + 1, s) != 0) {
                write_sample(smp, r, k, s);
                fprintf(stderr, "runner: %s %s %" PRIu64 " sample %d failed; retrying once\n",
                        r->placement, r->sc->name, r->rate, k + 1);
                if (run_sample(r, k + 1, s) != 0) {
                    r->failed = 1;
                    fprintf(stderr, "runner: %s %s %" PRIu64 ": FAILED\n", r->placement,
                            r->sc->name, r->rate);
                }
            }
            /* On a shared machine: a sample during which other processes
             * used much CPU is measured again (bounded per sample and per
             * run); the quietest attempt is kept, every attempt is logged. */
            for (int t = 0; t < NOISE_RETRIES && s->ok && s->foreign_pct > NOISE_PCT &&
                            noise_retries < noise_budget;
                 t++) {
                sample_t again;
                write_sample(smp, r, k, s);
                noise_retries++;
                if (run_sample(r, k + 1, &again) == 0 && again.foreign_pct < s->foreign_pct)
                    *s = again;
            }
            write_sample(smp, r, k, s);
        }
        fprintf(stderr, "runner: sample round %d/%d done (%" PRIu64 " s)\n", k + 1, opt.samples,
                (now_ms() - t0) / 1000);
    }

    int failed = 0;
    fprintf(res, "%s\n", results_header);
    for (int i = 0; i < nrows; i++) {
        write_row(res, &rows[i]);
        failed += rows[i].failed;
    }
    fclose(res);
    fclose(smp);
    write_machine("end");
    write_noise(rows, nrows, noise_retries);
    fprintf(stderr, "runner: %d rows, %d failed, %" PRIu64 " s\n", nrows, failed,
            (now_ms() - t0) / 1000);
    free(rows);
    return failed ? 1 : 0;
}
