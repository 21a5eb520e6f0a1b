// SPDX-License-Identifier: MIT
/*
 * A disk image cannot grow past its size, whatever its blk worker asks for
 * (issue: hardened hosts). In a forked child with the jail's RLIMIT_FSIZE
 * and SIGXFSZ ignored, as device_workers.c gives a blk worker, squib's own
 * engine (device-worker/host_io/blk_io.c) and a raw SQE on its ring try to
 * write and allocate at 64 and 128 MiB past a 1 MiB image; the host then
 * sees st_size and st_blocks unchanged. The modes only the filter stops
 * (fallocate ZERO_RANGE|KEEP_SIZE) are tried under the device filter.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/raw_syscall.h"
#include "device-worker/host_io/blk_io.h"
#include "sandbox/sandbox.h"

#define IMG (1u << 20)

/* One operation through the engine, waited for. Its result. */
static int run_op(struct blk_io *io, const struct blk_io_op *op)
{
	struct blk_io_done done;

	if (blk_io_start(io, 0, op) < 0 || blk_io_submit(io) < 0)
		return -1000;
	for (int spins = 0; spins < 100000; spins++) {
		if (blk_io_reap(io, &done, 1) == 1)
			return done.res;
		usleep(100);
	}
	return -1001;
}

/* A FALLOCATE SQE straight on the ring, as a compromised worker could write it. */
static int raw_fallocate_sqe(struct blk_io *io, int mode, uint64_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
	struct io_uring_cqe *cqe = NULL;
	int res;

	if (!sqe)
		return -1002;
	io_uring_prep_fallocate(sqe, 0, mode, (off_t)off, 1 << 20);
	sqe->flags |= IOSQE_FIXED_FILE;
	if (io_uring_submit(&io->ring) < 0 || io_uring_wait_cqe(&io->ring, &cqe) < 0 || !cqe)
		return -1003;
	res = cqe->res;
	io_uring_cqe_seen(&io->ring, cqe);
	return res;
}

enum { R_WRITEV, R_ZERO_RANGE, R_PUNCH, R_RAW_SQE, R_COUNT };

static void child(int fd, int *res)
{
	struct rlimit fsize = { IMG, IMG };
	static uint8_t data[4096];
	struct iovec iov = { data, sizeof(data) };
	struct blk_io io;
	const char *step = NULL;
	int uerr = 0;

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &fsize) < 0 || blk_io_init(&io, fd, 4, true, 0, &uerr, &step) < 0)
		_exit(10);
	if (io.engine != BLK_IO_ENGINE_URING)
		_exit(11); /* this host has io_uring: the unit tests of virtio_blk use it */
	res[R_WRITEV] = run_op(&io, &(struct blk_io_op){ .kind = BLK_IO_WRITEV, .iov = &iov, .niov = 1,
						  .offset = 128ull << 20 });
	res[R_ZERO_RANGE] = run_op(&io, &(struct blk_io_op){ .kind = BLK_IO_FALLOCATE, .mode = FALLOC_FL_ZERO_RANGE,
						      .offset = 64ull << 20, .len = 1 << 20 });
	res[R_PUNCH] = run_op(&io, &(struct blk_io_op){ .kind = BLK_IO_FALLOCATE,
						 .mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
						 .offset = 64ull << 20, .len = 1 << 20 });
	res[R_RAW_SQE] = raw_fallocate_sqe(&io, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 64ull << 20);
	_exit(0);
}

/* Under the device filter with the engine's own rules: fallocate(ZERO_RANGE|KEEP_SIZE) dies by SIGSYS. */
static int filtered_child(int fd)
{
	pid_t pid = fork();
	int status = 0;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sandbox_params p;
		struct rlimit no_core = { 0, 0 };

		(void)setrlimit(RLIMIT_CORE, &no_core);
		memset(&p, 0, sizeof(p));
		p.log_fd = 2;
		p.control_fd = p.doorbell_fd = -1;
		p.vcpu_fd = -1;
		for (size_t i = 0; i < ARRAY_SIZE(p.doorbell_fds); i++)
			p.doorbell_fds[i] = -1;
		p.extra[p.nextra++] = (struct sandbox_fd_rule){ SYS_fallocate, fd, "the backend" };
		if (sandbox_enter(SANDBOX_ROLE_DEVICE, &p, NULL) < 0)
			raw_exit_group(10);
		(void)raw_syscall6(SYS_fallocate, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096, 0, 0);
		(void)raw_syscall6(SYS_fallocate, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 64 << 20, 1 << 20, 0, 0);
		raw_exit_group(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

Test(blk_growth, an_image_cannot_grow_past_its_size)
{
	char path[] = "blk-growth-XXXXXX";
	int *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stat before, after;
	int fd = mkstemp(path), status = 0;
	pid_t pid;

	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	cr_assert_eq(ftruncate(fd, IMG), 0);
	cr_assert_eq(pwrite(fd, "squib", 5, 0), 5);
	cr_assert_eq(fsync(fd), 0);
	cr_assert_eq(fstat(fd, &before), 0);
	cr_assert_neq(res, MAP_FAILED);
	for (int i = 0; i < R_COUNT; i++)
		res[i] = -9999;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		child(fd, res);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the engine child: wait status %#x", status);
	cr_assert_eq(res[R_WRITEV], -EFBIG, "WRITEV at 128 MiB: %d", res[R_WRITEV]);
	cr_assert(res[R_ZERO_RANGE] == -EFBIG || res[R_ZERO_RANGE] == -EOPNOTSUPP, "ZERO_RANGE at 64 MiB: %d",
		  res[R_ZERO_RANGE]);
	cr_assert(res[R_PUNCH] == 0 || res[R_PUNCH] == -EOPNOTSUPP, "PUNCH_HOLE at 64 MiB: %d", res[R_PUNCH]);
	cr_assert_eq(res[R_RAW_SQE], -EACCES, "a raw FALLOCATE SQE: %d (the ring must refuse the opcode)",
		     res[R_RAW_SQE]);
	status = filtered_child(fd);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		  "fallocate(ZERO_RANGE|KEEP_SIZE) under the device filter: wait status %#x", status);
	cr_assert_eq(fstat(fd, &after), 0);
	cr_assert_eq(after.st_size, before.st_size, "st_size %lld -> %lld", (long long)before.st_size,
		     (long long)after.st_size);
	cr_assert_leq(after.st_blocks, before.st_blocks, "st_blocks %lld -> %lld", (long long)before.st_blocks,
		      (long long)after.st_blocks);
	close(fd);
	munmap(res, 4096);
}
