/* SPDX-License-Identifier: MIT */
/*
 * The "testdev" device model: routes MMIO, PIO and Hypercall exits to the
 * freestanding testdev and turns an exit-port write into CONTROL_VM_EXIT.
 */
#include "device-worker/models/testdev_model.h"

#include <stddef.h>
#include <string.h>

_Static_assert(TESTDEV_MMIO_DATA_MAX == VM_MMIO_DATA_MAX, "testdev MMIO buffer = a VmExit's");
_Static_assert(TESTDEV_PIO_DATA_MAX == VM_PIO_DATA_MAX, "testdev PIO buffer = a VmExit's");

static int testdev_model_init(void *state, struct device_host *host)
{
	struct testdev_model *m = state;

	m->host = host;
	m->td = host->persist ? host->persist : &m->own_td;
	if (!host->persist || host->persist_fresh)
		testdev_init(m->td);
	return 0;
}

/*
 * The bytes of struct testdev an exit may change (persist.h): a slot write,
 * the read counter on a read, a PIO scratch byte. Hypercalls change nothing.
 */
static void testdev_journal_range(const void *state, const struct vm_exit *exit, size_t *off, size_t *len)
{
	*off = 0;
	*len = 0;
	(void)state;
	if (!exit)
		return; /* testdev changes nothing between records */
	if (exit->kind == VM_EXIT_MMIO && exit->u.mmio.write) {
		uint64_t at = exit->u.mmio.addr - TESTDEV_MMIO_BASE; /* wraps when below: clamped by persist_begin */

		*off = at < TESTDEV_MMIO_SIZE ? offsetof(struct testdev, slots) + at : 0;
		*len = at < TESTDEV_MMIO_SIZE ? exit->u.mmio.len : 0;
	} else if (exit->kind == VM_EXIT_MMIO) {
		*off = offsetof(struct testdev, read_counter);
		*len = sizeof(uint64_t);
	} else if (exit->kind == VM_EXIT_PIO && exit->u.pio.write) {
		*off = offsetof(struct testdev, pio_scratch);
		*len = TESTDEV_PIO_SCRATCH_SIZE;
	}
}

static void request_exit(struct testdev_model *m, int status)
{
	int err;

	/* The first request ends the VM; a guest hammering the port sends nothing more. */
	if (m->exit_requested)
		return;
	m->exit_requested = true;
	m->exit_status = status;
	err = m->host->request_vm_exit(m->host, (uint8_t)status);
	if (err)
		device_log(m->host, "cannot request VM exit (status %d): %s", status, strerrordesc_np(-err));
}

static void handle_mmio(struct testdev_model *m, const struct vm_exit *exit, struct vm_reply *reply)
{
	const struct vm_exit_mmio *mmio = &exit->u.mmio;
	uint8_t data[VM_MMIO_DATA_MAX];

	if (mmio->addr < TESTDEV_MMIO_BASE || mmio->addr - TESTDEV_MMIO_BASE >= TESTDEV_MMIO_SIZE) {
		m->unowned++;
		device_reply_unowned(exit, reply);
		return;
	}
	memcpy(data, mmio->data, sizeof(data));
	if (testdev_mmio(m->td, mmio->addr - TESTDEV_MMIO_BASE, mmio->write, mmio->len, data)) {
		device_reply_unowned(exit, reply);
		return;
	}
	if (!mmio->write) {
		reply->len = mmio->len;
		memcpy(reply->data, data, mmio->len);
	}
}

static void handle_pio(struct testdev_model *m, const struct vm_exit *exit, struct vm_reply *reply)
{
	const struct vm_exit_pio *pio = &exit->u.pio;
	uint8_t data[VM_PIO_DATA_MAX];
	int status = -1;

	memcpy(data, pio->data, sizeof(data));
	if (testdev_pio(m->td, pio->port, pio->write, pio->len, data, &status)) {
		m->unowned++;
		device_reply_unowned(exit, reply);
		return;
	}
	if (status >= 0)
		request_exit(m, status);
	if (!pio->write) {
		reply->len = pio->len;
		memcpy(reply->data, data, pio->len);
	}
}

static void handle_hypercall(struct testdev_model *m, const struct vm_exit *exit, struct vm_reply *reply)
{
	uint64_t v = testdev_hypercall(m->td, exit->u.hypercall.func, exit->u.hypercall.args);

	reply->len = 8;
	for (unsigned i = 0; i < 8; i++)
		reply->data[i] = (uint8_t)(v >> (8 * i));
}

static void testdev_model_handle(void *state, const struct vm_exit *exit, struct vm_reply *reply)
{
	struct testdev_model *m = state;

	switch (exit->kind) {
	case VM_EXIT_MMIO:
		handle_mmio(m, exit, reply);
		return;
	case VM_EXIT_PIO:
		handle_pio(m, exit, reply);
		return;
	case VM_EXIT_HYPERCALL:
		handle_hypercall(m, exit, reply);
		return;
	default:
		m->unowned++;
		device_reply_unowned(exit, reply);
		return;
	}
}

static void testdev_model_idle(void *state)
{
	(void)state;
}

const struct device_model testdev_device_model = {
	.name = "testdev",
	.uses = DEVICE_USES_PERSIST,
	.persist_size = sizeof(struct testdev),
	.journal_range = testdev_journal_range,
	.state_size = sizeof(struct testdev_model),
	.init = testdev_model_init,
	.handle = testdev_model_handle,
	.idle = testdev_model_idle,
};
