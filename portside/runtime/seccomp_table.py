"""The default seccomp profile's content, written in docker's profile format so ``seccomp.py`` resolves it for a
capability set exactly as it resolves a user's ``--security-opt seccomp=FILE``.

The policy is docker's: an allowlist, every other system call failing with EPERM. What stays out, and why:
- kernel keyring (add_key, keyctl, request_key): keyrings are not namespaced;
- module loading, kexec, reboot, swap, acct, clock and time setting, iopl/ioperm: host-wide effects that
  capabilities already deny; closed here too, so one flaw in a capability check is not enough;
- mount, umount, pivot_root, unshare, setns, namespace flags of clone, bpf, perf_event_open, fanotify_init,
  quotactl, syslog, lookup_dcookie: either CAP_SYS_ADMIN's territory or large kernel attack surface; each comes
  back with the capability that governs it (the ``CAPABILITY_GRANTS`` table), as docker's ``includes.caps`` do;
- userfaultfd (a tool for kernel race exploits), io_uring (a history of escapes; docker dropped it too),
  personality beyond the few personas programs really use, obsolete calls (uselib, ustat, sysfs, _sysctl,
  vm86, nfsservctl, create_module, query_module, get_kernel_syms).

adjtimex and clock_adjtime stay in: asked for no change they only read, and any change needs CAP_SYS_TIME.
Names cover x86_64, i386 and x32 and arm64/arm; names a kernel or libseccomp does not know are skipped by runc.
"""

from __future__ import annotations

ALWAYS = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32 clock_adjtime
clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep
clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1
epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2
fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
futex_waitv futex_wake futimesat get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid getegid32
geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname getsockopt
gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel
io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit ioctl ioprio_get ioprio_set ipc kill
landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen
listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier
memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink
mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev
pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo
sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam sched_getscheduler
sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler
sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg
sendmsg sendto set_robust_list set_thread_area set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid
setgid32 setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid
setresuid32 setreuid setreuid32 setrlimit setsid setsockopt setuid setuid32 setxattr shmat shmctl shmdt shmget
shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs
statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink
unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
""".split()

TRACING = ["ptrace", "process_vm_readv", "process_vm_writev"]

# docker's architecture names (Go's GOARCH) -> calls only that architecture has
PER_ARCH = {
    "amd64": "arch_prctl modify_ldt".split(),
    "arm64": "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls".split(),
}

CAPABILITY_GRANTS = {
    "CAP_SYS_ADMIN": """bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount
        mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns
        syslog umount umount2 unshare""".split(),
    "CAP_SYS_BOOT": ["reboot"],
    "CAP_SYS_CHROOT": ["chroot"],
    "CAP_SYS_MODULE": ["delete_module", "init_module", "finit_module"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_PTRACE": ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_TIME": ["settimeofday", "stime", "clock_settime", "clock_settime64"],
    "CAP_SYS_TTY_CONFIG": ["vhangup"],
    "CAP_SYS_NICE": ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
    "CAP_SYSLOG": ["syslog"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
}

# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: clone may not make namespaces without CAP_SYS_ADMIN
CLONE_NAMESPACE_FLAGS = 0x7E020000
AF_VSOCK = 40  # host-guest sockets reach outside the container's network namespace
ENOSYS = 38
# Personas real programs ask for: Linux, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26, and the query (0xffffffff).
PERSONAS = (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)


def docker_format() -> dict:
    """The default profile in docker's JSON format (with ``includes``/``excludes`` for capabilities)."""
    # before 4.8 ptrace could bypass seccomp itself; since then the tracee stays filtered
    rules = [_allow(ALWAYS), _allow(TRACING, includes={"minKernel": "4.8"})]
    rules += [_allow(names, includes={"arches": [arch]}) for arch, names in PER_ARCH.items()]
    rules += [_allow(["personality"], args=[_arg(0, p, "SCMP_CMP_EQ")]) for p in PERSONAS]
    rules.append(_allow(["socket"], args=[_arg(0, AF_VSOCK, "SCMP_CMP_NE")]))
    rules.append(_allow(["clone"], args=[_arg(0, CLONE_NAMESPACE_FLAGS, "SCMP_CMP_MASKED_EQ")],
                        excludes={"caps": ["CAP_SYS_ADMIN"]}))
    # glibc falls back from clone3 to clone on ENOSYS, where the flags can be checked (clone3 passes a pointer)
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
                  "excludes": {"caps": ["CAP_SYS_ADMIN"]}})
    rules += [_allow(names, includes={"caps": [cap]}) for cap, names in CAPABILITY_GRANTS.items()]
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
            "syscalls": rules}


def _allow(names: list[str], args: list[dict] | None = None, **conditions: dict) -> dict:
    return {"names": list(names), "action": "SCMP_ACT_ALLOW", "args": args or [], **conditions}


def _arg(index: int, value: int, op: str) -> dict:
    return {"index": index, "value": value, "valueTwo": 0, "op": op}
