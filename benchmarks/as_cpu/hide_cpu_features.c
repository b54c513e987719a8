/* Hide CPU features from one process and its children (LD_PRELOAD), so that a benchmark
 * measures what a CPU without them would run: see benchmarks/as_cpu.py, which builds this
 * file and sets its environment variables.
 *
 * Why our own code: the libraries we benchmark (OpenVINO's oneDNN, onnxruntime, torch,
 * numpy) pick their kernels from the CPUID instruction, and none offers a switch that hides
 * bf16 (OpenVINO ignores ONEDNN_MAX_CPU_ISA). Intel SDE would, but it is not installable
 * here. Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, CPU flag `cpuid_fault`) makes
 * every CPUID raise SIGSEGV; the handler below runs the real instruction, clears the hidden
 * bits and returns the result, as a CPU without those features would. rhetoric itself reads
 * /proc/cpuinfo (embedding.cpu_flags), so opening that file by its absolute path yields a
 * copy without the hidden flags.
 *
 *   AS_CPU_MASKS    leaf.subleaf.register=hexbits,...  e.g. 7.1.a=20 clears AVX512_BF16
 *   AS_CPU_CPUINFO  path of the /proc/cpuinfo copy to serve in its place
 *   AS_CPU_STATS    file to which each process appends "pid CPUIDs-answered" at exit
 *
 * Faulting is per thread, inherited by threads and fork()ed children and switched off by
 * execve; LD_PRELOAD carries this library into exec()ed children, whose constructor turns
 * it on again. What runs before that constructor sees the real CPU: the dynamic loader,
 * and so glibc's own string functions (as_cpu.py sets GLIBC_TUNABLES for those).
 *
 * The program keeps its signal handling: a SIGSEGV handler it installs later (Python's
 * faulthandler) is recorded instead of installed and called for every SIGSEGV that is not
 * a CPUID, and SIGSEGV is never blocked (a CPUID in a thread that blocked it would kill the
 * process), which the program cannot notice unless it raises SIGSEGV itself.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif

#define MAX_MASKS 32

struct mask {
    unsigned leaf, subleaf, bits;
    int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
};

static struct mask masks[MAX_MASKS];
static int mask_count;
static const char *cpuinfo_copy;
static struct sigaction program_action; /* what the program asked for SIGSEGV */
static int ready;
static unsigned long answered; /* CPUIDs answered by this process */

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void cpuid_faulting(int on) { syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *regs = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
    if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) { /* CPUID */
        unsigned out[4], leaf = (unsigned)regs[REG_RAX], subleaf = (unsigned)regs[REG_RCX];
        cpuid_faulting(0);
        __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
        cpuid_faulting(1);
        for (int i = 0; i < mask_count; i++) /* masks name leaf 7 subleaves: ECX is an input there */
            if (masks[i].leaf == leaf && masks[i].subleaf == subleaf) out[masks[i].reg] &= ~masks[i].bits;
        regs[REG_RAX] = out[0];
        regs[REG_RBX] = out[1];
        regs[REG_RCX] = out[2];
        regs[REG_RDX] = out[3];
        regs[REG_RIP] += 2;
        __atomic_add_fetch(&answered, 1, __ATOMIC_RELAXED);
        return;
    }
    struct sigaction program = program_action;
    if (program.sa_handler == SIG_IGN && info->si_code <= 0) return; /* a kill() the program ignores */
    if (program.sa_handler != SIG_DFL && program.sa_handler != SIG_IGN) {
        if (program.sa_flags & SA_SIGINFO)
            program.sa_sigaction(sig, info, context);
        else
            program.sa_handler(sig);
        return;
    }
    /* the default: die of this signal as the program would have */
    struct sigaction fallback = {0};
    fallback.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &fallback, NULL);
    if (info->si_code <= 0) raise(sig); /* sent by kill(): it will not come again by itself */
}

/* The program's own SIGSEGV handler, recorded in place of installing it. */
static int record(const struct sigaction *act, struct sigaction *oldact) {
    struct sigaction previous = program_action;
    if (act) program_action = *act;
    if (oldact) *oldact = previous;
    return 0;
}

int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact) {
    if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (!ready || signum != SIGSEGV) return real_sigaction(signum, act, oldact);
    return record(act, oldact);
}

int __sigaction(int signum, const struct sigaction *act, struct sigaction *oldact) {
    return sigaction(signum, act, oldact);
}

/* signal() and its kin call glibc's internal sigaction, not the one above: for SIGSEGV they
   go through it, every other signal is left to glibc's own function of that name. */
static sighandler_t set_handler(const char *name, int signum, sighandler_t handler, int flags) {
    if (!ready || signum != SIGSEGV) {
        sighandler_t (*next)(int, sighandler_t) = dlsym(RTLD_NEXT, name);
        return next(signum, handler);
    }
    struct sigaction act = {0}, old;
    act.sa_handler = handler;
    act.sa_flags = flags;
    sigemptyset(&act.sa_mask);
    if (sigaction(signum, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

sighandler_t signal(int signum, sighandler_t handler) {
    return set_handler("signal", signum, handler, SA_RESTART);
}
sighandler_t bsd_signal(int signum, sighandler_t handler) {
    return set_handler("bsd_signal", signum, handler, SA_RESTART);
}
sighandler_t sysv_signal(int signum, sighandler_t handler) {
    return set_handler("sysv_signal", signum, handler, SA_RESETHAND | SA_NODEFER);
}

/* Keep SIGSEGV deliverable: the kernel kills a process whose CPUID faults while it is blocked. */
static const sigset_t *without_segv(int how, const sigset_t *set, sigset_t *copy) {
    if (!ready || !set || how == SIG_UNBLOCK) return set;
    *copy = *set;
    sigdelset(copy, SIGSEGV);
    return copy;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
    static int (*next)(int, const sigset_t *, sigset_t *);
    if (!next) next = dlsym(RTLD_NEXT, "sigprocmask");
    sigset_t copy;
    return next(how, without_segv(how, set, &copy), old);
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
    static int (*next)(int, const sigset_t *, sigset_t *);
    if (!next) next = dlsym(RTLD_NEXT, "pthread_sigmask");
    sigset_t copy;
    return next(how, without_segv(how, set, &copy), old);
}

static const char *redirected(const char *path) {
    return cpuinfo_copy && path && strcmp(path, "/proc/cpuinfo") == 0 ? cpuinfo_copy : path;
}

#define NEEDS_MODE(flags) (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE)

#define OPEN_LIKE(name)                                                    \
    int name(const char *path, int flags, ...) {                           \
        static int (*next)(const char *, int, ...);                        \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        va_list args;                                                      \
        va_start(args, flags);                                             \
        mode_t mode = NEEDS_MODE(flags) ? va_arg(args, mode_t) : 0; \
        va_end(args);                                                      \
        return next(redirected(path), flags, mode);                        \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

/* What _FORTIFY_SOURCE builds call for open() without a mode. */
#define OPEN_2_LIKE(name)                                                  \
    int name(const char *path, int flags) {                                \
        static int (*next)(const char *, int);                             \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        return next(redirected(path), flags);                              \
    }
OPEN_2_LIKE(__open_2)
OPEN_2_LIKE(__open64_2)

#define OPENAT_LIKE(name)                                                  \
    int name(int dir, const char *path, int flags, ...) {                  \
        static int (*next)(int, const char *, int, ...);                   \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        va_list args;                                                      \
        va_start(args, flags);                                             \
        mode_t mode = NEEDS_MODE(flags) ? va_arg(args, mode_t) : 0; \
        va_end(args);                                                      \
        return next(dir, redirected(path), flags, mode);                   \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

#define OPENAT_2_LIKE(name)                                                \
    int name(int dir, const char *path, int flags) {                       \
        static int (*next)(int, const char *, int);                        \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        return next(dir, redirected(path), flags);                         \
    }
OPENAT_2_LIKE(__openat_2)
OPENAT_2_LIKE(__openat64_2)

#define FOPEN_LIKE(name)                                                   \
    FILE *name(const char *path, const char *how) {                        \
        static FILE *(*next)(const char *, const char *);                  \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        return next(redirected(path), how);                                \
    }
FOPEN_LIKE(fopen)
FOPEN_LIKE(fopen64)

static void parse_masks(const char *text) {
    /* "7.1.a=20,7.0.d=3c00000": leaf.subleaf.register=bits in hex */
    while (text && *text && mask_count < MAX_MASKS) {
        struct mask m;
        char reg;
        int used = 0;
        if (sscanf(text, "%x.%x.%c=%x%n", &m.leaf, &m.subleaf, &reg, &m.bits, &used) != 4 || !strchr("abcd", reg)) {
            fprintf(stderr, "hide_cpu_features: bad AS_CPU_MASKS near '%s'; expected leaf.subleaf.reg=hexbits\n", text);
            _exit(2);
        }
        m.reg = reg - 'a';
        masks[mask_count++] = m;
        text += used;
        if (*text == ',') text++;
    }
}

__attribute__((destructor)) static void stop(void) {
    const char *stats = getenv("AS_CPU_STATS");
    if (!ready || !stats) return;
    FILE *out = fopen(stats, "a");
    if (!out) return;
    fprintf(out, "%d %lu\n", (int)getpid(), answered);
    fclose(out);
}

__attribute__((constructor)) static void start(void) {
    const char *spec = getenv("AS_CPU_MASKS");
    if (!spec) return;
    parse_masks(spec);
    cpuinfo_copy = getenv("AS_CPU_CPUINFO");
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    struct sigaction handler = {0};
    handler.sa_sigaction = on_segv;
    /* NODEFER: a CPUID inside the program's own SIGSEGV handler is answered too;
       ONSTACK: the program's alternate signal stack, where it set one */
    handler.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&handler.sa_mask);
    real_sigaction(SIGSEGV, &handler, &program_action);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "hide_cpu_features: this CPU or kernel has no CPUID faulting (flag cpuid_fault)\n");
        _exit(2);
    }
    ready = 1;
}
