/* Hide CPU features from one process and its children (LD_PRELOAD), so that a benchmark
 * measures what a CPU without them would run: see benchmarks/as_cpu.py, which builds this
 * file and sets its two environment variables.
 *
 * Why our own code: the libraries we benchmark (OpenVINO's oneDNN, onnxruntime, torch,
 * numpy) pick their kernels from the CPUID instruction, and none offers a switch that hides
 * bf16 (OpenVINO ignores ONEDNN_MAX_CPU_ISA). Intel SDE would, but it is not installable
 * here. Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, CPU flag `cpuid_fault`) makes
 * every CPUID raise SIGSEGV; the handler below runs the real instruction, clears the hidden
 * bits and returns the result, as a CPU without those features would. rhetoric itself reads
 * /proc/cpuinfo (embedding.cpu_flags), so opening that file yields a copy without the
 * hidden flags.
 *
 *   AS_CPU_MASKS    leaf.subleaf.register=hexbits,...  e.g. 7.1.a=20 clears AVX512_BF16
 *   AS_CPU_CPUINFO  path of the /proc/cpuinfo copy to serve in its place
 *
 * Faulting is per thread, inherited by threads and fork()ed children and switched off by
 * execve; LD_PRELOAD carries this library into exec()ed children, whose constructor turns
 * it on again. A SIGSEGV handler installed later by the program (Python's faulthandler) is
 * recorded instead of installed and called for every SIGSEGV that is not a CPUID.
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
        for (int i = 0; i < mask_count; i++)
            if (masks[i].leaf == leaf && masks[i].subleaf == subleaf) out[masks[i].reg] &= ~masks[i].bits;
        regs[REG_RAX] = out[0];
        regs[REG_RBX] = out[1];
        regs[REG_RCX] = out[2];
        regs[REG_RDX] = out[3];
        regs[REG_RIP] += 2;
        return;
    }
    if (program_action.sa_flags & SA_SIGINFO) {
        program_action.sa_sigaction(sig, info, context);
    } else if (program_action.sa_handler != SIG_DFL && program_action.sa_handler != SIG_IGN) {
        program_action.sa_handler(sig);
    } else { /* default: die of this fault as the program would have */
        signal(SIGSEGV, SIG_DFL);
    }
}

int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact) {
    static int (*next)(int, const struct sigaction *, struct sigaction *);
    if (!next) next = dlsym(RTLD_NEXT, "sigaction");
    if (!ready || signum != SIGSEGV) return next(signum, act, oldact);
    if (oldact) *oldact = program_action;
    if (act) program_action = *act;
    return 0;
}

static const char *redirected(const char *path) {
    return cpuinfo_copy && path && strcmp(path, "/proc/cpuinfo") == 0 ? cpuinfo_copy : path;
}

#define OPEN_LIKE(name)                                                    \
    int name(const char *path, int flags, ...) {                           \
        static int (*next)(const char *, int, ...);                        \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        va_list args;                                                      \
        va_start(args, flags);                                             \
        mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(args, mode_t) : 0; \
        va_end(args);                                                      \
        return next(redirected(path), flags, mode);                        \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                  \
    int name(int dir, const char *path, int flags, ...) {                  \
        static int (*next)(int, const char *, int, ...);                   \
        if (!next) next = dlsym(RTLD_NEXT, #name);                         \
        va_list args;                                                      \
        va_start(args, flags);                                             \
        mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(args, mode_t) : 0; \
        va_end(args);                                                      \
        return next(dir, redirected(path), flags, mode);                   \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

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

__attribute__((constructor)) static void start(void) {
    const char *spec = getenv("AS_CPU_MASKS");
    if (!spec) return;
    parse_masks(spec);
    cpuinfo_copy = getenv("AS_CPU_CPUINFO");
    struct sigaction handler = {0};
    handler.sa_sigaction = on_segv;
    handler.sa_flags = SA_SIGINFO | SA_ONSTACK; /* the program's alternate stack, where it set one */
    sigemptyset(&handler.sa_mask);
    int (*real_sigaction)(int, const struct sigaction *, struct sigaction *) = dlsym(RTLD_NEXT, "sigaction");
    real_sigaction(SIGSEGV, &handler, &program_action);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "hide_cpu_features: this CPU or kernel has no CPUID faulting (flag cpuid_fault)\n");
        _exit(2);
    }
    ready = 1;
}
