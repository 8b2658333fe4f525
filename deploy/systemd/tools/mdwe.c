// Reproduces systemd's MemoryDenyWriteExecute=yes without systemd: installs the same seccomp rules
// (mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect with PROT_EXEC -> EPERM) and execs a command.
//   gcc -O1 -o /tmp/mdwe deploy/systemd/tools/mdwe.c
//   /tmp/mdwe dotnet /opt/xksgrpc/edge/XksGrpc.Edge.dll --help     # .NET 10: SIGSEGV, W^X on or off
// This is why the units say MemoryDenyWriteExecute=no (README, "systemd appliance").
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#define ARG2 (offsetof(struct seccomp_data, args) + 2 * sizeof(__u64))
int main(int argc, char **argv) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_mmap, 0, 3),
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, ARG2),
    BPF_STMT(BPF_ALU|BPF_AND|BPF_K, PROT_WRITE|PROT_EXEC),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, PROT_WRITE|PROT_EXEC, 6, 7),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_mprotect, 1, 0),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, __NR_pkey_mprotect, 0, 5),
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, ARG2),
    BPF_STMT(BPF_ALU|BPF_AND|BPF_K, PROT_EXEC),
    BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, PROT_EXEC, 0, 2),
    BPF_STMT(BPF_LD|BPF_W|BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = { .len = sizeof f / sizeof f[0], .filter = f };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p)) { perror("seccomp"); return 1; }
  execvp(argv[1], argv + 1); perror("exec"); return 1;
}
