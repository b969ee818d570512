/*
 * The exec launcher: runs a program under an ACK filter after exec.
 *
 * A seccomp filter survives execve; a signal handler does not.  Under ACK
 * every trapped syscall of the new image would meet the default SIGSYS
 * action and kill it.  So the ACK handler (ack_core.h) turns
 *     execve(path, argv, envp)
 * into
 *     execve(launcher, [launcher, ring, path, argv...], envp)
 * and this program, a static freestanding executable, then:
 *   1. makes its own syscalls through the trampoline page, which its ELF
 *      headers map at SA_TRAMPOLINE_PAGE, the address every ACK filter
 *      allows re-issued syscalls from, so none of them traps;
 *   2. maps the event ring (a file; its path is argv[1]) and installs the
 *      same ACK handler as the runtime, with the same cookies (they live in
 *      the ring);
 *   3. loads the program as the kernel would have: its PT_LOAD segments, its
 *      interpreter (ld.so) if it has one, "#!" scripts, a fresh stack with
 *      argc, argv, envp and an auxiliary vector describing the program; and
 *      jumps to the entry point.  The program's syscalls then trap into the
 *      handler below, which re-issues them and reports into the ring.
 *
 * Design limits: /proc/self/exe names the launcher; the program's stack is
 * an 8 MiB mapping rather than the kernel's growable [stack]; brk starts
 * after the launcher; set-user-ID bits do not apply (no_new_privs already
 * forbids them).  Only 64-bit x86-64 programs are loaded; the runtime
 * refuses the others before exec (ENOTSUP).
 *
 * Freestanding: no libc.  Each event costs two syscalls more than in the
 * runtime (getpid and gettid, since there is no thread-local cache here).
 */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

#define NR_pread64 17
#define NR_mprotect 10
#define NR_fstat 5
#define NR_prctl 157
#define NR_exit_group_ 231
#define PR_SET_NAME 15
#define K_O_RDWR 2
#define K_MAP_SHARED 0x01
#define K_MAP_FIXED 0x10
#define K_MAP_STACK 0x20000
#define K_MAP_NORESERVE 0x4000
#define K_PROT_EXEC 4
#define K_SA_NODEFER 0x40000000
#define K_SA_RESTORER 0x04000000
#define K_SIG_UNBLOCK 1
#define PAGE 4096ul
#define STACK_SIZE (8ul << 20)
#define STACK_GUARD (1ul << 20)  /* the kernel's stack_guard_gap: 256 pages */

/* The trampoline page, at the fixed address through the linker's
 * --section-start (setup.py): `syscall; ret`. */
__asm__(".section .tramp,\"ax\",@progbits\n"
        "\tsyscall\n"
        "\tret\n"
        ".previous\n");

/* Entry: hand the initial stack pointer to launcher_main. */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "\txorl %ebp, %ebp\n"
        "\tmovq %rsp, %rdi\n"
        "\tandq $-16, %rsp\n"
        "\tcall launcher_main\n"
        "\thlt\n");

/* The signal return path: rt_sigreturn is allowed by number everywhere. */
__asm__(".text\n"
        ".hidden launcher_restorer\n"
        "launcher_restorer:\n"
        "\tmovq $15, %rax\n"
        "\tsyscall\n"
        "\thlt\n");
__attribute__((visibility("hidden"))) void launcher_restorer(void);

/* Compilers may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

/* ------------------------------------------- hooks for the shared core */

static struct sa_ring *g_ring;
static const char *g_self;       /* this launcher's path, for nested exec */
static const char *g_ring_path;

struct k_sigaction;
static struct k_sigaction *core_app_action(void);

static struct sa_ring *core_ring(void)
{
    return g_ring;
}

static int32_t core_pid(void)
{
    return (int32_t)sa_syscall6(39, 0, 0, 0, 0, 0, 0);
}

static int32_t core_tid(void)
{
    return (int32_t)sa_syscall6(186, 0, 0, 0, 0, 0, 0);
}

static void core_forget_ids(void)
{
}

static uint64_t core_now_ns(void)
{
    struct {
        int64_t sec, nsec;
    } ts = {0, 0};
    sa_syscall6(228, 1 /* CLOCK_MONOTONIC */, (long)&ts, 0, 0, 0, 0);
    return (uint64_t)ts.sec * 1000000000u + (uint64_t)ts.nsec;
}

static int core_quiet(void)
{
    return 0;
}

static void core_vfork(int on)
{
    (void)on;  /* no caches here: ids always come from syscalls */
}

static const char *core_launcher(void)
{
    return g_self;
}

static const char *core_ring_path(void)
{
    return g_ring_path;
}

#include "ack_core.h"

static struct k_sigaction g_app_action;  /* SIG_DFL after exec */

static struct k_sigaction *core_app_action(void)
{
    return &g_app_action;
}

static void launcher_handler(int sig, void *si, void *ctx)
{
    core_handle(sig, (struct k_siginfo *)si, (struct k_ucontext *)ctx);
}

/* ------------------------------------------------------------- helpers */

#define SYS(nr, a0, a1, a2, a3, a4, a5) \
    sa_syscall6(nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), \
                (long)(a4), (long)(a5))

static int is_err(long rc)
{
    return rc < 0 && rc > -4096;
}

static void put(const char *s)
{
    SYS(NR_write, 2, s, core_strlen(s), 0, 0, 0);
}

__attribute__((noreturn)) static void die(const char *what, const char *path)
{
    put("seccomp_ack launcher: ");
    put(what);
    if (path) {
        put(": ");
        put(path);
    }
    put("\n");
    SYS(NR_exit_group_, 127, 0, 0, 0, 0, 0);
    __builtin_unreachable();
}

static uintptr_t page_down(uintptr_t x)
{
    return x & ~(PAGE - 1);
}

static uintptr_t page_up(uintptr_t x)
{
    return (x + PAGE - 1) & ~(PAGE - 1);
}

/* ------------------------------------------------------------ the ring */

static void map_ring(const char *path)
{
    struct {
        uint64_t dev, ino, nlink;
        uint32_t mode, uid, gid, pad;
        uint64_t rdev;
        int64_t size;
        int64_t rest[12];
    } st;
    long fd = SYS(NR_openat, K_AT_FDCWD, path, K_O_RDWR | K_O_CLOEXEC, 0, 0,
                  0);
    if (fd < 0)
        die("cannot open the event ring", path);
    if (SYS(NR_fstat, fd, &st, 0, 0, 0, 0) != 0 || st.size <= 0)
        die("cannot stat the event ring", path);
    long p = SYS(NR_mmap, 0, st.size, K_PROT_READ | K_PROT_WRITE,
                 K_MAP_SHARED, fd, 0);
    SYS(NR_close, fd, 0, 0, 0, 0, 0);
    if (is_err(p))
        die("cannot map the event ring", path);
    struct sa_ring *r = (struct sa_ring *)p;
    if (r->magic != SA_RING_MAGIC || r->slot_size != sizeof(struct sa_slot) ||
        r->capacity < 2 || (r->capacity & (r->capacity - 1)) ||
        sa_ring_bytes_inline(r->capacity) > (uint64_t)st.size)
        die("not an event ring of this version", path);
    g_ring = r;
}

static void install_handler(void)
{
    struct k_sigaction act = {(uintptr_t)launcher_handler,
                              K_SA_SIGINFO | K_SA_NODEFER | K_SA_RESTORER,
                              (uintptr_t)launcher_restorer, 0};
    if (SYS(NR_rt_sigaction, K_SIGSYS, &act, 0, 8, 0, 0) != 0)
        die("cannot install the SIGSYS handler", 0);
    /* A trap while SIGSYS is blocked kills; exec kept the caller's mask. */
    uint64_t sys = SIGSYS_BIT;
    SYS(NR_rt_sigprocmask, K_SIG_UNBLOCK, &sys, 0, 8, 0, 0);
}

/* ------------------------------------------------------ the ELF loader */

struct image {
    uintptr_t base;      /* load bias: 0 for ET_EXEC */
    uintptr_t entry;
    uintptr_t phdr;      /* where the program headers are in memory */
    uint16_t phnum;
    char interp[K_PATH_MAX];
};

static void map_segment(long fd, const Elf64_Phdr *ph, uintptr_t base,
                        const char *path)
{
    int prot = ((ph->p_flags & PF_R) ? K_PROT_READ : 0) |
               ((ph->p_flags & PF_W) ? K_PROT_WRITE : 0) |
               ((ph->p_flags & PF_X) ? K_PROT_EXEC : 0);
    uintptr_t start = base + ph->p_vaddr;
    uintptr_t file_end = start + ph->p_filesz;
    uintptr_t mem_end = start + ph->p_memsz;
    uintptr_t map_start = page_down(start);
    int zero_tail = ph->p_memsz > ph->p_filesz && (file_end & (PAGE - 1));

    if (ph->p_filesz > 0) {
        long p = SYS(NR_mmap, map_start, page_up(file_end) - map_start,
                     prot | (zero_tail ? K_PROT_WRITE : 0),
                     K_MAP_PRIVATE | K_MAP_FIXED, fd,
                     ph->p_offset - (start - map_start));
        if (is_err(p))
            die("cannot map a segment of", path);
    }
    if (ph->p_memsz > ph->p_filesz) {
        /* .bss: zero the rest of the last file page, then map zero pages. */
        if (zero_tail) {
            memset((void *)file_end, 0, page_up(file_end) - file_end);
            SYS(NR_mprotect, page_down(file_end), PAGE, prot, 0, 0, 0);
        }
        uintptr_t anon = ph->p_filesz > 0 ? page_up(file_end) : map_start;
        if (page_up(mem_end) > anon) {
            long p = SYS(NR_mmap, anon, page_up(mem_end) - anon, prot,
                         K_MAP_PRIVATE | K_MAP_ANONYMOUS | K_MAP_FIXED, -1,
                         0);
            if (is_err(p))
                die("cannot map the bss of", path);
        }
    }
}

static void load_elf(const char *path, struct image *img)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[64];
    long fd = SYS(NR_openat, K_AT_FDCWD, path, K_O_RDONLY | K_O_CLOEXEC, 0,
                  0, 0);
    if (fd < 0)
        die("cannot open", path);
    if (SYS(NR_pread64, fd, &eh, sizeof eh, 0, 0, 0) != sizeof eh ||
        eh.e_ident[EI_MAG0] != ELFMAG0 || eh.e_ident[EI_MAG1] != ELFMAG1 ||
        eh.e_ident[EI_MAG2] != ELFMAG2 || eh.e_ident[EI_MAG3] != ELFMAG3 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
        (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        eh.e_phnum > 64)
        die("not a 64-bit x86-64 ELF program", path);
    long want = (long)(eh.e_phnum * sizeof(Elf64_Phdr));
    if (SYS(NR_pread64, fd, ph, want, eh.e_phoff, 0, 0) != want)
        die("cannot read the program headers of", path);

    uintptr_t lo = UINTPTR_MAX, hi = 0, phdr_vaddr = 0;
    const Elf64_Phdr *first = 0;
    img->interp[0] = '\0';
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            if (!first)
                first = &ph[i];
            if (page_down(ph[i].p_vaddr) < lo)
                lo = page_down(ph[i].p_vaddr);
            if (page_up(ph[i].p_vaddr + ph[i].p_memsz) > hi)
                hi = page_up(ph[i].p_vaddr + ph[i].p_memsz);
        } else if (ph[i].p_type == PT_PHDR) {
            phdr_vaddr = ph[i].p_vaddr;
        } else if (ph[i].p_type == PT_INTERP) {
            if (ph[i].p_filesz == 0 || ph[i].p_filesz >= K_PATH_MAX ||
                SYS(NR_pread64, fd, img->interp, ph[i].p_filesz,
                    ph[i].p_offset, 0, 0) != (long)ph[i].p_filesz)
                die("bad interpreter path in", path);
            img->interp[ph[i].p_filesz] = '\0';
        }
    }
    if (!first)
        die("no loadable segment in", path);

    /* ET_DYN (PIE programs, ld.so): reserve the whole span anywhere the
     * kernel likes, then map each segment inside it. */
    uintptr_t base = 0;
    if (eh.e_type == ET_DYN) {
        long p = SYS(NR_mmap, 0, hi - lo, 0,
                     K_MAP_PRIVATE | K_MAP_ANONYMOUS, -1, 0);
        if (is_err(p))
            die("no room to load", path);
        base = (uintptr_t)p - lo;
    }
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD)
            map_segment(fd, &ph[i], base, path);
    SYS(NR_close, fd, 0, 0, 0, 0, 0);

    img->base = base;
    img->entry = base + eh.e_entry;
    img->phnum = eh.e_phnum;
    img->phdr = phdr_vaddr ? base + phdr_vaddr
                           : base + first->p_vaddr - first->p_offset +
                                 eh.e_phoff;
}

/* ---------------------------------------------------------- the start */

static const char *basename_of(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/')
            b = p + 1;
    return b;
}

__attribute__((noreturn)) static void jump(uintptr_t sp, uintptr_t entry)
{
    /* The psABI entry state: rsp at argc, rdx = 0 (no atexit function),
     * rbp = 0 (outermost frame). */
    __asm__ volatile("movq %0, %%rsp\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "xorl %%ebp, %%ebp\n\t"
                     "jmp *%1\n"
                     :
                     : "r"(sp), "a"(entry)
                     : "memory");
    __builtin_unreachable();
}

static char g_script_head[256];

__attribute__((noreturn, used)) void launcher_main(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    char **envp = argv + argc + 1;
    long envc = 0;
    while (envp[envc])
        envc++;
    uint64_t *auxv = (uint64_t *)(envp + envc + 1);

    if (argc < 3)
        die("usage: _launcher RING PROGRAM [ARGV...] (started by "
            "seccomp_ack, not by hand)", 0);
    g_self = argv[0];
    g_ring_path = argv[1];
    map_ring(argv[1]);
    install_handler();

    /* The program's argv: argv[3...], or for "#!interp [arg]" scripts
     * [interp, arg, path, argv[4...]], as the kernel builds it. */
    const char *path = argv[2];
    char **prog_argv = argv + 3;
    long prog_argc = argc - 3;
    const char *extra[3];
    long n_extra = 0;
    for (int depth = 0;; depth++) {
        long fd = SYS(NR_openat, K_AT_FDCWD, path, K_O_RDONLY | K_O_CLOEXEC,
                      0, 0, 0);
        if (fd < 0)
            die("cannot open", path);
        char head[sizeof g_script_head];
        long n = SYS(NR_read, fd, head, sizeof head, 0, 0, 0);
        SYS(NR_close, fd, 0, 0, 0, 0, 0);
        if (n < 2 || head[0] != '#' || head[1] != '!')
            break;
        if (depth == 0)
            memcpy(g_script_head, head, (size_t)n);
        char *interp, *arg;
        if (depth > 0 || core_parse_shebang(g_script_head, n, &interp,
                                            &arg) < 0)
            die("cannot run the script (nested or empty #!)", path);
        extra[n_extra++] = interp;
        if (arg)
            extra[n_extra++] = arg;
        extra[n_extra++] = path;
        /* The script's own argv[0] is replaced by its path. */
        if (prog_argc > 0) {
            prog_argv++;
            prog_argc--;
        }
        path = interp;
    }

    static struct image prog, interp;
    load_elf(path, &prog);
    uintptr_t entry = prog.entry, interp_base = 0;
    if (prog.interp[0]) {
        load_elf(prog.interp, &interp);
        if (interp.interp[0])
            die("the interpreter itself has an interpreter", prog.interp);
        entry = interp.entry;
        interp_base = interp.base;
    }

    /* The new stack: argc, argv, NULL, envp, NULL, auxv, AT_NULL.  Below
     * it, a guard gap of inaccessible pages, as the kernel keeps below a
     * [stack], so that an overflow faults instead of running into
     * whatever is mapped beneath. */
    long gap = SYS(NR_mmap, 0, STACK_GUARD + STACK_SIZE, 0,
                   K_MAP_PRIVATE | K_MAP_ANONYMOUS | K_MAP_NORESERVE, -1, 0);
    if (is_err(gap))
        die("cannot map a stack for", path);
    long stack = SYS(NR_mmap, gap + STACK_GUARD, STACK_SIZE,
                     K_PROT_READ | K_PROT_WRITE,
                     K_MAP_PRIVATE | K_MAP_ANONYMOUS | K_MAP_STACK |
                         K_MAP_NORESERVE | K_MAP_FIXED,
                     -1, 0);
    if (is_err(stack))
        die("cannot map a stack for", path);
    long auxc = 0;
    while (auxv[2 * auxc] != AT_NULL)
        auxc++;
    long new_argc = n_extra + prog_argc;
    long words = 1 + new_argc + 1 + envc + 1 + 2 * (auxc + 1);
    uintptr_t top = (uintptr_t)stack + STACK_SIZE - 256;
    uint64_t *nsp = (uint64_t *)((top - (uintptr_t)words * 8) & ~15ul);
    uint64_t *w = nsp;
    *w++ = (uint64_t)new_argc;
    for (long i = 0; i < n_extra; i++)
        *w++ = (uint64_t)extra[i];
    for (long i = 0; i < prog_argc; i++)
        *w++ = (uint64_t)prog_argv[i];
    *w++ = 0;
    for (long i = 0; i < envc; i++)
        *w++ = (uint64_t)envp[i];
    *w++ = 0;
    for (long i = 0; i < auxc; i++) {
        uint64_t type = auxv[2 * i], val = auxv[2 * i + 1];
        switch (type) {
        case AT_PHDR: val = prog.phdr; break;
        case AT_PHNUM: val = prog.phnum; break;
        case AT_PHENT: val = sizeof(Elf64_Phdr); break;
        case AT_ENTRY: val = prog.entry; break;
        case AT_BASE: val = interp_base; break;
        case AT_EXECFN: val = (uint64_t)argv[2]; break;
        default: break;
        }
        *w++ = type;
        *w++ = val;
    }
    *w++ = AT_NULL;
    *w++ = 0;

    SYS(NR_prctl, PR_SET_NAME, basename_of(argv[2]), 0, 0, 0, 0);
    jump((uintptr_t)nsp, entry);
}
