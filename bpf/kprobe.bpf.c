// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kprobe capture path: the twins of tracepoint.bpf.c on the syscall functions themselves
 * (libbpf resolves ksyscall/NAME to this architecture's __x64_sys_NAME), calling the same
 * bodies. Used where the kernel has kprobes and they are the cheaper hook (see README).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "capture.bpf.h"

SEC("ksyscall/write")
int BPF_KSYSCALL(kp_write, int fd, const void *buf, size_t count)
{
	handle_write(fd, (__u64)buf, 0, count);
	return 0;
}

SEC("ksyscall/writev")
int BPF_KSYSCALL(kp_writev, int fd, const void *iov, int iovcnt)
{
	handle_writev(fd, (__u64)iov, iovcnt);
	return 0;
}

SEC("ksyscall/sendto")
int BPF_KSYSCALL(kp_sendto, int fd, const void *buf, size_t len)
{
	handle_write(fd, (__u64)buf, 0, len);
	return 0;
}

SEC("ksyscall/sendmsg")
int BPF_KSYSCALL(kp_sendmsg, int fd, const void *msg)
{
	handle_sendmsg(fd, (__u64)msg);
	return 0;
}

SEC("kretsyscall/read")
int BPF_KRETPROBE(kp_ret_read, long ret)
{
	handle_read_exit(ret, READ_PLAIN);
	return 0;
}

SEC("kretsyscall/readv")
int BPF_KRETPROBE(kp_ret_readv, long ret)
{
	handle_read_exit(ret, READ_IOV);
	return 0;
}

SEC("kretsyscall/recvfrom")
int BPF_KRETPROBE(kp_ret_recvfrom, long ret)
{
	handle_read_exit(ret, READ_FROM);
	return 0;
}

SEC("kretsyscall/recvmsg")
int BPF_KRETPROBE(kp_ret_recvmsg, long ret)
{
	handle_read_exit(ret, READ_MSG);
	return 0;
}

SEC("kretsyscall/sendfile64")
int BPF_KRETPROBE(kp_ret_sendfile, long ret)
{
	handle_sendfile_exit(ret);
	return 0;
}

SEC("kretsyscall/connect")
int BPF_KRETPROBE(kp_ret_connect, long ret)
{
	handle_connect_exit(ret);
	return 0;
}

SEC("kretsyscall/accept")
int BPF_KRETPROBE(kp_ret_accept, long ret)
{
	handle_accept_exit(ret);
	return 0;
}

SEC("kretsyscall/accept4")
int BPF_KRETPROBE(kp_ret_accept4, long ret)
{
	handle_accept_exit(ret);
	return 0;
}

SEC("ksyscall/close")
int BPF_KSYSCALL(kp_close, int fd)
{
	handle_close(fd);
	return 0;
}
