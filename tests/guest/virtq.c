/* SPDX-License-Identifier: MIT */
/* Split virtqueue, driver side (virtio 1.2 sections 2.7.5-2.7.14). */
#include "barrier.h"
#include "guest.h"
#include "io.h"
#include "virtq.h"

static uint64_t gpa(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* the guest runs identity-mapped */
}

void virtq_init(struct virtq *vq, struct virtq_mem *mem, uint16_t index, uint16_t size,
		bool event_idx, bool indirect, bool want_irq, uint64_t notify_addr)
{
	memset(mem, 0, sizeof(*mem));
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->size = size;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->want_irq = want_irq;
	vq->mem = mem;
	vq->desc = mem->desc;
	vq->avail = (struct virtq_avail *)(void *)mem->avail_area;
	vq->used = (struct virtq_used *)(void *)mem->used_area;
	vq->notify_addr = notify_addr;
	for (uint16_t i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;
	/* Without EVENT_IDX, polling drivers turn interrupts off with the flag. */
	vq->avail->flags = (!want_irq && !event_idx) ? VIRTQ_AVAIL_F_NO_INTERRUPT : 0;
	if (event_idx)
		*virtq_used_event(vq) = want_irq ? 0 : (uint16_t)0xffff;
}

uint64_t virtq_desc_addr(const struct virtq *vq)
{
	return gpa(vq->desc);
}

uint64_t virtq_driver_addr(const struct virtq *vq)
{
	return gpa(vq->avail);
}

uint64_t virtq_device_addr(const struct virtq *vq)
{
	return gpa(vq->used);
}

uint16_t *virtq_used_event(struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

const uint16_t *virtq_avail_event(const struct virtq *vq)
{
	return (const uint16_t *)(const void *)&vq->used->ring[vq->size];
}

static bool use_indirect(const struct virtq *vq, unsigned n)
{
	return vq->indirect && n > 1 && n <= VIRTQ_INDIRECT_MAX;
}

unsigned virtq_descs_needed(const struct virtq *vq, unsigned n)
{
	return use_indirect(vq, n) ? 1 : n;
}

static void fill_desc(struct virtq_desc *d, const struct virtq_buf *b)
{
	d->addr = b->addr;
	d->len = b->len;
	d->flags = b->writable ? VIRTQ_DESC_F_WRITE : 0;
}

static void make_available(struct virtq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->size] = head;
	vq->avail_idx++;
	/* Descriptors and the ring entry are visible before the new idx. */
	wmb();
	write_once16(&vq->avail->idx, vq->avail_idx);
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *token)
{
	unsigned need = virtq_descs_needed(vq, n);
	uint16_t head, idx;

	if (n == 0 || !token || need > vq->num_free || (!use_indirect(vq, n) && n > vq->size))
		return -1;
	head = vq->free_head;
	if (use_indirect(vq, n)) {
		struct virtq_desc *table = vq->mem->indirect[head];

		for (unsigned i = 0; i < n; i++) {
			fill_desc(&table[i], &bufs[i]);
			if (i + 1 < n) {
				table[i].flags |= VIRTQ_DESC_F_NEXT;
				table[i].next = (uint16_t)(i + 1);
			} else {
				table[i].next = 0;
			}
		}
		vq->desc[head].addr = gpa(table);
		vq->desc[head].len = n * (uint32_t)sizeof(struct virtq_desc);
		vq->desc[head].flags = VIRTQ_DESC_F_INDIRECT;
		vq->free_head = vq->desc[head].next;
	} else {
		idx = head;
		for (unsigned i = 0; i < n; i++) {
			struct virtq_desc *d = &vq->desc[idx];

			fill_desc(d, &bufs[i]);
			if (i + 1 < n)
				d->flags |= VIRTQ_DESC_F_NEXT; /* d->next already links the free list */
			idx = d->next;
		}
		vq->free_head = idx;
	}
	vq->num_free = (uint16_t)(vq->num_free - need);
	vq->chain_len[head] = (uint16_t)need;
	vq->token[head] = token;
	make_available(vq, head);
	return head;
}

/* virtio 1.2 section 2.7.10: vring_need_event. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

void virtq_notify(struct virtq *vq)
{
	mmio_write32(vq->notify_addr, vq->index);
	vq->kicks++;
}

bool virtq_kick(struct virtq *vq)
{
	uint16_t old_idx = vq->kick_old, new_idx = vq->avail_idx;
	bool need;

	vq->kick_old = new_idx;
	/* avail->idx must be visible before we read the device's wishes. */
	mb();
	if (vq->event_idx)
		need = need_event(read_once16(virtq_avail_event(vq)), new_idx, old_idx);
	else
		need = !(read_once16(&vq->used->flags) & VIRTQ_USED_F_NO_NOTIFY);
	if (!need) {
		vq->kicks_skipped++;
		return false;
	}
	virtq_notify(vq);
	return true;
}

static void arm_notifications(struct virtq *vq)
{
	if (!vq->event_idx)
		return; /* avail->flags was set once in virtq_init */
	/*
	 * want_irq: interrupt when the entry at last_used is written.
	 * Polling: an index already behind, reached again only after 65535
	 * more used entries; rewritten on every call, so never reached.
	 */
	write_once16(virtq_used_event(vq), vq->want_irq ? vq->last_used : (uint16_t)(vq->last_used - 1));
	/* The device must see used_event before we look at used->idx again. */
	mb();
}

bool virtq_has_used(const struct virtq *vq)
{
	return read_once16(&vq->used->idx) != vq->last_used;
}

unsigned virtq_in_flight(const struct virtq *vq)
{
	return (uint16_t)(vq->avail_idx - vq->last_used);
}

void *virtq_get_used(struct virtq *vq, uint32_t *len)
{
	struct virtq_used_elem *e;
	uint32_t id, n;
	uint16_t idx;
	void *token;

	if (vq->broken)
		return 0;
	arm_notifications(vq);
	if (read_once16(&vq->used->idx) == vq->last_used)
		return 0;
	/* The element is read after the idx that published it. */
	rmb();
	e = &vq->used->ring[vq->last_used % vq->size];
	id = read_once32(&e->id);
	if (id >= vq->size || !vq->token[id]) {
		vq->broken = true;
		vq->bad_id = id;
		return 0;
	}
	*len = read_once32(&e->len);
	token = vq->token[id];
	vq->token[id] = 0;
	/* Back onto the free list: walk the chain in our own table. */
	n = vq->chain_len[id];
	idx = (uint16_t)id;
	for (uint32_t i = 1; i < n; i++)
		idx = vq->desc[idx].next;
	vq->desc[idx].next = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + n);
	vq->last_used++;
	return token;
}

void virtq_publish_raw(struct virtq *vq, uint16_t head)
{
	make_available(vq, head);
}

void virtq_set_avail_idx_raw(struct virtq *vq, uint16_t idx)
{
	vq->avail_idx = idx;
	wmb();
	write_once16(&vq->avail->idx, idx);
}
