/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 register model. Policy and threat notes are in
 * virtio_mmio.h; the state layout and who writes it in virtio_state.h.
 *
 * Every field of the state that bounds an index (nqueues, queue_sel,
 * config_len) is read once into a local and clamped to the array size
 * before use, so no state contents can make this file index outside it.
 */
#include "device-worker/virtio/virtio_mmio.h"

#include "device-worker/virtio/virtqueue.h" /* the one definition of the ring layout */

#include <errno.h>
#include <string.h>

static bool is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* [addr, addr + len) inside [0, ram_size), overflow-safe. */
static bool range_in_ram(uint64_t addr, uint64_t len, uint64_t ram_size)
{
	return addr <= ram_size && len <= ram_size - addr;
}

static unsigned queue_count(const struct virtio_state *st)
{
	uint32_t n = st->nqueues;

	return n < VIRTIO_STATE_MAX_QUEUES ? n : VIRTIO_STATE_MAX_QUEUES;
}

static uint32_t config_len(const struct virtio_state *st)
{
	uint32_t n = st->config_len;

	return n < VIRTIO_STATE_CONFIG_SIZE ? n : VIRTIO_STATE_CONFIG_SIZE;
}

/* The queue QueueSel selects, or NULL when it does not exist. */
static struct virtio_queue_state *selected_queue(struct virtio_state *st, unsigned *index)
{
	uint32_t sel = st->queue_sel;

	if (sel >= queue_count(st))
		return NULL;
	*index = sel;
	return &st->queues[sel];
}

static const struct virtio_queue_state *selected_queue_ro(const struct virtio_state *st)
{
	uint32_t sel = st->queue_sel;

	return sel < queue_count(st) ? &st->queues[sel] : NULL;
}

static bool features_acceptable(uint64_t driver, uint64_t device)
{
	return (driver & ~device) == 0 && (driver & VIRTIO_FEAT_VERSION_1) &&
	       !(driver & VIRTIO_FEAT_TRANSPORT_UNSUPPORTED);
}

/*
 * Could a queue with this size and these rings be ready? NULL, or why not.
 * Shared by QueueReady and virtio_state_validate so that both apply exactly
 * the same rule.
 */
static const char *queue_layout_problem(uint32_t num, uint32_t num_max, uint64_t desc,
					uint64_t driver, uint64_t device, uint64_t ram_size)
{
	if (!is_pow2(num))
		return "queue size is not a power of two";
	if (num > num_max || num > VIRTIO_STATE_QUEUE_SIZE_MAX)
		return "queue size exceeds QueueNumMax";
	if (desc % VIRTQ_DESC_ALIGN)
		return "descriptor table not 16-byte aligned";
	if (driver % VIRTQ_AVAIL_ALIGN)
		return "driver ring not 2-byte aligned";
	if (device % VIRTQ_USED_ALIGN)
		return "device ring not 4-byte aligned";
	if (!range_in_ram(desc, virtq_desc_bytes(num), ram_size))
		return "descriptor table outside guest RAM";
	if (!range_in_ram(driver, virtq_avail_bytes(num), ram_size))
		return "driver ring outside guest RAM";
	if (!range_in_ram(device, virtq_used_bytes(num), ram_size))
		return "device ring outside guest RAM";
	return NULL;
}

/* Back to the state a queue has before the driver sets it up (keeps num_max). */
static void queue_clear_progress(struct virtio_queue_state *q)
{
	q->ready = 0;
	q->last_avail_idx = 0;
	q->used_idx = 0;
	q->take_journal = 0;
	q->push_journal = 0;
	memset(q->inflight, 0, sizeof(q->inflight));
}

void virtio_mmio_init(struct virtio_state *st, uint32_t device_id, uint64_t device_features,
		      unsigned nqueues, uint16_t queue_num_max, uint32_t config_len_bytes)
{
	uint32_t num_max = queue_num_max;

	if (nqueues > VIRTIO_STATE_MAX_QUEUES)
		nqueues = VIRTIO_STATE_MAX_QUEUES;
	if (config_len_bytes > VIRTIO_STATE_CONFIG_SIZE)
		config_len_bytes = VIRTIO_STATE_CONFIG_SIZE;
	if (num_max > VIRTIO_STATE_QUEUE_SIZE_MAX)
		num_max = VIRTIO_STATE_QUEUE_SIZE_MAX;
	if (num_max == 0)
		num_max = 1;
	while (!is_pow2(num_max))
		num_max &= num_max - 1; /* clear the lowest bit until one is left */

	memset(st, 0, sizeof(*st));
	st->magic = VIRTIO_STATE_MAGIC;
	st->layout_version = VIRTIO_STATE_LAYOUT_VERSION;
	st->device_id = device_id;
	st->nqueues = nqueues;
	st->config_len = config_len_bytes;
	st->device_features = (device_features & ~VIRTIO_FEAT_TRANSPORT_UNSUPPORTED) | VIRTIO_FEAT_VERSION_1;
	for (unsigned q = 0; q < nqueues; q++)
		st->queues[q].num_max = (uint16_t)num_max;
}

void virtio_mmio_set_ram_size(struct virtio_state *st, uint64_t ram_size)
{
	st->ram_size = ram_size;
}

/* ---- reads ---------------------------------------------------------------- */

static uint32_t config_read(const struct virtio_state *st, uint64_t off, unsigned size, uint32_t *diag)
{
	uint32_t v = 0;

	if (size != 1 && size != 2 && size != 4) {
		*diag |= VIRTIO_MMIO_FX_BAD_WIDTH;
		return 0;
	}
	if (off % size) {
		*diag |= VIRTIO_MMIO_FX_BAD_WIDTH;
		return 0;
	}
	if (off + size > config_len(st)) { /* off < 256 here: no overflow */
		*diag |= VIRTIO_MMIO_FX_OUT_OF_RANGE;
		return 0;
	}
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)st->config[off + i] << (8 * i);
	return v;
}

static uint32_t register_read(const struct virtio_state *st, uint32_t off, uint32_t *diag)
{
	const struct virtio_queue_state *q;
	uint64_t features;
	uint32_t sel;

	switch (off) {
	case VIRTIO_MMIO_REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_REG_VERSION:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_REG_DEVICE_ID:
		return st->device_id;
	case VIRTIO_MMIO_REG_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR_ID;
	case VIRTIO_MMIO_REG_DEVICE_FEATURES:
		sel = st->device_features_sel;
		features = st->device_features;
		if (sel == 0)
			return (uint32_t)features;
		if (sel == 1)
			return (uint32_t)(features >> 32);
		return 0;
	case VIRTIO_MMIO_REG_QUEUE_NUM_MAX:
		q = selected_queue_ro(st);
		return q ? q->num_max : 0;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		q = selected_queue_ro(st);
		return q ? q->ready : 0;
	case VIRTIO_MMIO_REG_INTERRUPT_STATUS:
		return st->interrupt_status & VIRTIO_MMIO_IRQ_MASK;
	case VIRTIO_MMIO_REG_STATUS:
		return st->status;
	case VIRTIO_MMIO_REG_SHM_LEN_LOW:
	case VIRTIO_MMIO_REG_SHM_LEN_HIGH:
	case VIRTIO_MMIO_REG_SHM_BASE_LOW:
	case VIRTIO_MMIO_REG_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory region: length -1 */
	case VIRTIO_MMIO_REG_CONFIG_GENERATION:
		return st->config_generation;
	default:
		/* Write-only, reserved, legacy (version 1) or unknown. */
		*diag |= VIRTIO_MMIO_FX_IGNORED;
		return 0;
	}
}

uint32_t virtio_mmio_read_diag(const struct virtio_state *st, uint64_t offset, unsigned size,
			       uint32_t *diag)
{
	uint32_t d = 0;
	uint32_t v = 0;

	if (offset >= VIRTIO_MMIO_WINDOW_SIZE)
		d |= VIRTIO_MMIO_FX_OUT_OF_RANGE;
	else if (offset >= VIRTIO_MMIO_REG_CONFIG)
		v = config_read(st, offset - VIRTIO_MMIO_REG_CONFIG, size, &d);
	else if (size != 4 || offset % 4)
		d |= VIRTIO_MMIO_FX_BAD_WIDTH;
	else
		v = register_read(st, (uint32_t)offset, &d);
	if (diag)
		*diag = d;
	return v;
}

uint32_t virtio_mmio_read(const struct virtio_state *st, uint64_t offset, unsigned size)
{
	return virtio_mmio_read_diag(st, offset, size, NULL);
}

/* ---- writes --------------------------------------------------------------- */

static void device_reset(struct virtio_state *st)
{
	st->status = 0;
	st->driver_features = 0;
	st->device_features_sel = 0;
	st->driver_features_sel = 0;
	st->queue_sel = 0;
	st->interrupt_status = 0;
	for (unsigned i = 0; i < VIRTIO_STATE_MAX_QUEUES; i++) {
		struct virtio_queue_state *q = &st->queues[i];

		queue_clear_progress(q);
		q->num = 0;
		q->desc_addr = 0;
		q->driver_addr = 0;
		q->device_addr = 0;
	}
}

static void status_write(struct virtio_state *st, uint32_t value, struct virtio_mmio_effects *fx)
{
	uint32_t old = st->status;
	uint32_t now;

	if (value == 0) {
		if (st->interrupt_status & VIRTIO_MMIO_IRQ_MASK)
			fx->flags |= VIRTIO_MMIO_FX_LOWER_IRQ;
		device_reset(st);
		fx->flags |= VIRTIO_MMIO_FX_RESET;
		return;
	}
	if (old & VIRTIO_STATUS_NEEDS_RESET) {
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		return;
	}
	/* Bits the driver may not set, or set bits it tries to clear: not applied. */
	if ((value & ~VIRTIO_STATUS_DRIVER_BITS) || (old & VIRTIO_STATUS_DRIVER_BITS & ~value))
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
	now = old | (value & VIRTIO_STATUS_DRIVER_BITS);

	if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint32_t need = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

		if ((now & need) != need ||
		    !features_acceptable(st->driver_features, st->device_features)) {
			now &= ~VIRTIO_STATUS_FEATURES_OK;
			fx->flags |= VIRTIO_MMIO_FX_FEATURES_REFUSED;
		}
	}
	if ((now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (now & VIRTIO_STATUS_FEATURES_OK) {
			fx->flags |= VIRTIO_MMIO_FX_DRIVER_OK;
		} else {
			now &= ~VIRTIO_STATUS_DRIVER_OK;
			fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		}
	}
	st->status = now;
}

static void driver_features_write(struct virtio_state *st, uint32_t value, struct virtio_mmio_effects *fx)
{
	uint32_t sel = st->driver_features_sel;
	uint64_t f = st->driver_features;

	if ((st->status & VIRTIO_STATUS_FEATURES_OK) || sel > 1) {
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		return;
	}
	if (sel == 0)
		f = (f & 0xffffffff00000000ull) | value;
	else
		f = (f & 0xffffffffull) | ((uint64_t)value << 32);
	st->driver_features = f;
}

static void queue_ready_write(struct virtio_state *st, uint32_t value, struct virtio_mmio_effects *fx)
{
	struct virtio_queue_state *q;
	unsigned index = 0;
	uint32_t status = st->status;

	q = selected_queue(st, &index);
	if (!q || value > 1) {
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		return;
	}
	if (value == 0) {
		if (q->ready) {
			queue_clear_progress(q);
			fx->flags |= VIRTIO_MMIO_FX_QUEUE_STOP;
			fx->queue = index;
		}
		return;
	}
	if (q->ready)
		return;
	fx->queue = index;
	if (!(status & VIRTIO_STATUS_FEATURES_OK) || (status & VIRTIO_STATUS_NEEDS_RESET) ||
	    queue_layout_problem(q->num, q->num_max, q->desc_addr, q->driver_addr, q->device_addr,
				 st->ram_size)) {
		fx->flags |= VIRTIO_MMIO_FX_QUEUE_REFUSED;
		return;
	}
	queue_clear_progress(q);
	q->ready = 1;
	fx->flags |= VIRTIO_MMIO_FX_QUEUE_READY;
}

/* One half of a ring address, or QueueNum: only while the queue is not ready. */
static void queue_field_write(struct virtio_state *st, uint32_t off, uint32_t value,
			      struct virtio_mmio_effects *fx)
{
	struct virtio_queue_state *q;
	unsigned index = 0;
	uint64_t *addr;

	q = selected_queue(st, &index);
	if (!q || q->ready) {
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_REG_QUEUE_NUM:
		q->num = value;
		return;
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
		addr = &q->desc_addr;
		break;
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
		addr = &q->driver_addr;
		break;
	default: /* VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW / HIGH */
		addr = &q->device_addr;
		break;
	}
	if (off & 4) /* every *_HIGH register is at 0x?4 */
		*addr = (*addr & 0xffffffffull) | ((uint64_t)value << 32);
	else
		*addr = (*addr & 0xffffffff00000000ull) | value;
}

static void interrupt_ack_write(struct virtio_state *st, uint32_t value, struct virtio_mmio_effects *fx)
{
	uint32_t old = st->interrupt_status & VIRTIO_MMIO_IRQ_MASK;
	uint32_t now = old & ~value;

	st->interrupt_status = now;
	if ((old & value) && now == 0)
		fx->flags |= VIRTIO_MMIO_FX_LOWER_IRQ;
}

static void register_write(struct virtio_state *st, uint32_t off, uint32_t value,
			   struct virtio_mmio_effects *fx)
{
	switch (off) {
	case VIRTIO_MMIO_REG_DEVICE_FEATURES_SEL:
		st->device_features_sel = value;
		return;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES:
		driver_features_write(st, value, fx);
		return;
	case VIRTIO_MMIO_REG_DRIVER_FEATURES_SEL:
		st->driver_features_sel = value;
		return;
	case VIRTIO_MMIO_REG_QUEUE_SEL:
		st->queue_sel = value;
		return;
	case VIRTIO_MMIO_REG_QUEUE_NUM:
	case VIRTIO_MMIO_REG_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_REG_QUEUE_DEVICE_HIGH:
		queue_field_write(st, off, value, fx);
		return;
	case VIRTIO_MMIO_REG_QUEUE_READY:
		queue_ready_write(st, value, fx);
		return;
	case VIRTIO_MMIO_REG_QUEUE_NOTIFY:
		if (virtio_mmio_queue_live(st, value)) {
			fx->flags |= VIRTIO_MMIO_FX_NOTIFY;
			fx->queue = value;
		} else {
			fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		}
		return;
	case VIRTIO_MMIO_REG_INTERRUPT_ACK:
		interrupt_ack_write(st, value, fx);
		return;
	case VIRTIO_MMIO_REG_STATUS:
		status_write(st, value, fx);
		return;
	case VIRTIO_MMIO_REG_SHM_SEL:
		return; /* no regions: every selector reads as non-existent */
	default:
		/* Read-only, reserved, legacy (version 1) or unknown. */
		fx->flags |= VIRTIO_MMIO_FX_IGNORED;
		return;
	}
}

static int config_write(struct virtio_state *st, uint64_t off, unsigned size, uint32_t value,
			struct virtio_mmio_effects *fx)
{
	if ((size != 1 && size != 2 && size != 4) || off % size) {
		fx->flags |= VIRTIO_MMIO_FX_BAD_WIDTH;
		return -EINVAL;
	}
	if (off + size > config_len(st)) { /* off < 256 here: no overflow */
		fx->flags |= VIRTIO_MMIO_FX_OUT_OF_RANGE;
		return -ERANGE;
	}
	fx->flags |= VIRTIO_MMIO_FX_CONFIG_WRITE;
	fx->config_offset = (uint32_t)off;
	fx->config_size = size;
	fx->config_value = size == 4 ? value : value & ((1u << (8 * size)) - 1);
	return 0;
}

int virtio_mmio_write(struct virtio_state *st, uint64_t offset, unsigned size, uint32_t value,
		      struct virtio_mmio_effects *fx)
{
	struct virtio_mmio_effects scratch;

	if (!fx)
		fx = &scratch;
	memset(fx, 0, sizeof(*fx));
	if (offset >= VIRTIO_MMIO_WINDOW_SIZE) {
		fx->flags |= VIRTIO_MMIO_FX_OUT_OF_RANGE;
		return -ERANGE;
	}
	if (offset >= VIRTIO_MMIO_REG_CONFIG)
		return config_write(st, offset - VIRTIO_MMIO_REG_CONFIG, size, value, fx);
	if (size != 4 || offset % 4) {
		fx->flags |= VIRTIO_MMIO_FX_BAD_WIDTH;
		return -EINVAL;
	}
	register_write(st, (uint32_t)offset, value, fx);
	return 0;
}

/* ---- device-side helpers --------------------------------------------------- */

void virtio_mmio_interrupt(struct virtio_state *st, uint32_t bits, struct virtio_mmio_effects *fx)
{
	bits &= VIRTIO_MMIO_IRQ_MASK;
	if (!bits)
		return;
	st->interrupt_status = (st->interrupt_status & VIRTIO_MMIO_IRQ_MASK) | bits;
	if (fx)
		fx->flags |= VIRTIO_MMIO_FX_RAISE_IRQ;
}

void virtio_mmio_needs_reset(struct virtio_state *st, struct virtio_mmio_effects *fx)
{
	uint32_t old = st->status;

	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	st->status = old | VIRTIO_STATUS_NEEDS_RESET;
	if (fx)
		fx->flags |= VIRTIO_MMIO_FX_NEEDS_RESET;
	if (old & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_interrupt(st, VIRTIO_MMIO_IRQ_CONFIG, fx);
}

void virtio_mmio_config_changed(struct virtio_state *st, struct virtio_mmio_effects *fx)
{
	st->config_generation++;
	if (st->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_interrupt(st, VIRTIO_MMIO_IRQ_CONFIG, fx);
}

bool virtio_mmio_queue_live(const struct virtio_state *st, unsigned q)
{
	uint32_t status = st->status;

	return q < queue_count(st) && st->queues[q].ready == 1 &&
	       (status & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_NEEDS_RESET);
}

/* ---- validation of a hostile region --------------------------------------- */

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* 0 (closed), or open for a head below num on a ready queue, with no stray bits. */
static bool journal_ok(uint32_t j, const struct virtio_queue_state *q)
{
	if (j == 0)
		return true;
	if (!(j & VIRTIO_JOURNAL_VALID) || (j & 0x70000000u) || !q->ready)
		return false;
	return virtio_journal_head(j) < q->num;
}

static const char *queue_problem(const struct virtio_queue_state *q, uint32_t status, uint64_t ram_size)
{
	const char *why;
	uint16_t pending;

	if (q->reserved0 || q->reserved2)
		return "queue reserved field not zero";
	if (!journal_ok(q->take_journal, q) || !journal_ok(q->push_journal, q))
		return "queue journal entry malformed or for a head not below the queue size";
	if (!is_pow2(q->num_max) || q->num_max > VIRTIO_STATE_QUEUE_SIZE_MAX)
		return "QueueNumMax not a power of two in [1, 256]";
	if (q->ready > 1)
		return "QueueReady neither 0 nor 1";
	if (!q->ready) {
		if (q->last_avail_idx || q->used_idx)
			return "queue not ready but has ring indices";
		if (!all_zero(q->inflight, sizeof(q->inflight)))
			return "queue not ready but has in-flight heads";
		return NULL;
	}
	if (!(status & VIRTIO_STATUS_FEATURES_OK))
		return "queue ready without FEATURES_OK";
	why = queue_layout_problem(q->num, q->num_max, q->desc_addr, q->driver_addr, q->device_addr,
				   ram_size);
	if (why)
		return why;
	/* Chains taken and not yet returned: distinct heads, so at most num. */
	pending = (uint16_t)(q->last_avail_idx - q->used_idx);
	if (pending > q->num)
		return "more chains taken than the queue holds (last_avail_idx - used_idx > num)";
	/* Heads are descriptor indices: below num (num <= 256 was checked above). */
	for (uint32_t h = q->num; h < VIRTIO_STATE_QUEUE_SIZE_MAX; h++)
		if ((q->inflight[h / 64u] >> (h % 64u)) & 1u)
			return "in-flight head not below the queue size";
	return NULL;
}

static const char *state_problem(const struct virtio_state *st, uint64_t ram_size)
{
	uint32_t status = st->status;
	uint32_t need = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint32_t n;

	if (st->magic != VIRTIO_STATE_MAGIC)
		return "bad magic";
	if (st->layout_version != VIRTIO_STATE_LAYOUT_VERSION)
		return "unknown layout version";
	if (st->nqueues > VIRTIO_STATE_MAX_QUEUES)
		return "too many queues";
	if (st->config_len > VIRTIO_STATE_CONFIG_SIZE)
		return "config space too large";
	if (st->reserved0 || !all_zero(st->reserved1, sizeof(st->reserved1)))
		return "reserved field not zero";
	if (st->ram_size != ram_size)
		return "state is for a different guest RAM size";
	if (!(st->device_features & VIRTIO_FEAT_VERSION_1))
		return "device does not offer VERSION_1";
	if (st->device_features & VIRTIO_FEAT_TRANSPORT_UNSUPPORTED)
		return "device offers a feature the transport cannot honour";
	if (status & ~VIRTIO_STATUS_KNOWN_BITS)
		return "undefined status bits";
	if ((status & VIRTIO_STATUS_FEATURES_OK) && (status & need) != need)
		return "FEATURES_OK without ACKNOWLEDGE and DRIVER";
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_FEATURES_OK))
		return "DRIVER_OK without FEATURES_OK";
	if ((status & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(st->driver_features, st->device_features))
		return "accepted features not offered or without VERSION_1";
	if (st->interrupt_status & ~VIRTIO_MMIO_IRQ_MASK)
		return "undefined interrupt status bits";
	n = st->nqueues;
	for (unsigned q = 0; q < VIRTIO_STATE_MAX_QUEUES; q++) {
		const char *why;

		if (q >= n) {
			if (!all_zero(&st->queues[q], sizeof(st->queues[q])))
				return "queue past nqueues not zero";
			continue;
		}
		why = queue_problem(&st->queues[q], status, ram_size);
		if (why)
			return why;
	}
	return NULL;
}

int virtio_state_validate(const struct virtio_state *st, uint64_t ram_size, const char **why)
{
	struct virtio_state copy;
	const char *problem;

	/* One copy of the hostile region; every check below reads only the copy. */
	memcpy(&copy, st, sizeof(copy));
	problem = state_problem(&copy, ram_size);
	if (why)
		*why = problem;
	return problem ? -EINVAL : 0;
}

int virtio_state_same_device(const struct virtio_state *st, const struct virtio_state *expected,
			     const char **why)
{
	struct virtio_state copy;
	const char *problem = NULL;

	memcpy(&copy, st, sizeof(copy));
	if (copy.device_id != expected->device_id)
		problem = "different device id";
	else if (copy.nqueues != expected->nqueues)
		problem = "different number of queues";
	else if (copy.config_len != expected->config_len)
		problem = "different config space size";
	else if (copy.device_features != expected->device_features)
		problem = "different offered features";
	else if (copy.ram_size != expected->ram_size)
		problem = "different guest RAM size";
	for (unsigned q = 0; !problem && q < VIRTIO_STATE_MAX_QUEUES; q++)
		if (copy.queues[q].num_max != expected->queues[q].num_max)
			problem = "different QueueNumMax";
	if (why)
		*why = problem;
	return problem ? -EINVAL : 0;
}
