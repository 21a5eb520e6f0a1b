/* SPDX-License-Identifier: MIT */
/*
 * uart-irq [echo=1] [bytes=4096]: COM1 driven by interrupts on IRQ 4
 * (IOAPIC pin 4, edge-triggered, vector VECTOR_UART), as Linux's 8250
 * driver drives it. Needs --testdev. vCPU 0 only.
 *
 *   set-up: 8N1, FIFOs on and cleared, MCR DTR|RTS|OUT2, then prints
 *           `uart-irq: ready`
 *   echo=1: with IER.RDI, waits (sti; hlt) for received-data interrupts;
 *           the handler reads every byte while LSR.DR; the main loop echoes
 *           each byte upper-cased until a '\r' or '\n', then prints
 *           `uart-irq: echoed <n> bytes in <k> interrupts`
 *   poll=1: the same pattern by polling LSR.THRE instead (a baseline)
 *   bytes=N (0..16 MiB): prints `uart-irq: pattern <N> bytes`, a newline,
 *           then N bytes of uart_irq_pattern() written only from THRE
 *           interrupts, at most 16 per interrupt, then
 *           `uart-irq: sent <N> bytes in <k> interrupts in <us> us`
 * and checks ok uart-irq-rx-interrupts, uart-irq-rx-lost, uart-irq-sent,
 * uart-irq-tx-interrupts, then PASS/FAILED.
 *
 * Pattern byte k: '\n' when k % 64 == 63, else ALNUM[(k + k / 64) % 62]
 * (tests/integration/test_console.c checks it byte for byte).
 */
#include "check.h"
#include "cmdline.h"
#include "common/platform.h"
#include "guest.h"
#include "idt.h"
#include "io.h"
#include "ioapic.h"
#include "lapic.h"
#include "testdev.h"
#include "workloads.h"

#define COM1_IRQ 4
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define REG_THR 0
#define REG_RBR 0
#define REG_IER 1
#define REG_IIR 2
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0e
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define TX_FIFO 16
#define RX_RING 256 /* power of two */
#define ISR_PASSES 64
#define BYTES_MAX (16ull << 20)

static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint8_t rx_ring[RX_RING];
static uint32_t rx_head, rx_tail; /* the handler writes head, the main loop tail */
static uint32_t rx_lost, rx_irqs, tx_irqs, irqs;
static uint64_t tx_total, tx_sent;
static uint32_t tx_done;
static uint8_t ier;

static uint8_t uart_irq_pattern(uint64_t k)
{
	if (k % 64 == 63)
		return '\n';
	return (uint8_t)alnum[(k + k / 64) % 62];
}

static void receive_all(void)
{
	while (inb(COM1_PORT_BASE + REG_LSR) & LSR_DR) {
		uint8_t c = inb(COM1_PORT_BASE + REG_RBR);
		uint32_t head = __atomic_load_n(&rx_head, __ATOMIC_RELAXED);

		if (head - __atomic_load_n(&rx_tail, __ATOMIC_ACQUIRE) >= RX_RING) {
			rx_lost++;
			continue;
		}
		rx_ring[head % RX_RING] = c;
		__atomic_store_n(&rx_head, head + 1, __ATOMIC_RELEASE);
	}
}

/*
 * THR is empty: up to 16 bytes (the 16550A's transmit FIFO), one outb each
 * as Linux's serial8250_tx_chars does (rep outsb would go through KVM's
 * instruction emulator byte by byte, which is slower still).
 */
static void transmit_some(void)
{
	for (unsigned n = 0; n < TX_FIFO && tx_sent < tx_total; n++)
		outb(COM1_PORT_BASE + REG_THR, uart_irq_pattern(tx_sent++));
	if (tx_sent == tx_total) {
		ier &= (uint8_t)~IER_THRI;
		outb(COM1_PORT_BASE + REG_IER, ier);
		__atomic_store_n(&tx_done, 1, __ATOMIC_RELEASE);
	}
}

static void uart_isr(struct isr_frame *frame)
{
	(void)frame;
	irqs++;
	for (unsigned pass = 0; pass < ISR_PASSES; pass++) {
		uint8_t iir = inb(COM1_PORT_BASE + REG_IIR);

		if (iir & IIR_NO_INT)
			break;
		switch (iir & IIR_ID_MASK) {
		case IIR_RDI:
		case IIR_TIMEOUT:
			rx_irqs++;
			receive_all();
			break;
		case IIR_THRI:
			tx_irqs++;
			transmit_some();
			break;
		case IIR_RLSI:
			(void)inb(COM1_PORT_BASE + REG_LSR);
			break;
		default:
			(void)inb(COM1_PORT_BASE + REG_MSR);
			break;
		}
	}
	lapic_eoi();
}

/* Polled output for the echo (the output side of the echo is not under test). */
static void putc_polled(uint8_t c)
{
	while (!(inb(COM1_PORT_BASE + REG_LSR) & LSR_THRE))
		cpu_relax();
	outb(COM1_PORT_BASE + REG_THR, c);
}

static void wait_for_interrupt(void)
{
	/* sti's one-instruction shadow: the interrupt is taken in hlt, not before it. */
	__asm__ __volatile__("sti\n\thlt\n\tcli" ::: "memory");
}

static uint64_t echo(void)
{
	uint64_t n = 0;

	ier = IER_RDI;
	outb(COM1_PORT_BASE + REG_IER, ier);
	for (;;) {
		while (__atomic_load_n(&rx_tail, __ATOMIC_RELAXED) != __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE)) {
			uint8_t c = rx_ring[rx_tail % RX_RING];

			__atomic_store_n(&rx_tail, rx_tail + 1, __ATOMIC_RELEASE);
			if (c == '\r' || c == '\n') {
				putc_polled('\n');
				return n;
			}
			putc_polled(c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c);
			n++;
		}
		wait_for_interrupt();
	}
}

void wl_uart_irq(unsigned cpu)
{
	uint64_t bytes, echoed = 0, t0;
	bool do_echo;

	if (cpu != 0)
		return;
	do_echo = cmdline_get_u64("echo", 1) != 0;
	bytes = cmdline_get_u64("bytes", 4096);
	if (bytes > BYTES_MAX)
		bytes = BYTES_MAX;
	/*
	 * KVM wires GSI 4 to the 8259 too, and the BSP's LINT0 starts as
	 * ExtINT: an unprogrammed PIC would deliver IRQ 4 as vector 4. Mask
	 * both 8259s (OCW1), as an OS using the IOAPIC does.
	 */
	outb(PIC_MASTER_DATA, 0xff);
	outb(PIC_SLAVE_DATA, 0xff);
	idt_set_handler(VECTOR_UART, uart_isr);
	lapic_enable();
	ioapic_route_edge(COM1_IRQ, VECTOR_UART, (uint8_t)(lapic_read(LAPIC_REG_ID) >> 24));

	outb(COM1_PORT_BASE + REG_IER, 0);
	outb(COM1_PORT_BASE + REG_LCR, 0x03);        /* 8N1, DLAB off */
	outb(COM1_PORT_BASE + REG_FCR, 0x07);        /* FIFOs on, both cleared */
	outb(COM1_PORT_BASE + REG_MCR, 0x0b);        /* DTR, RTS, OUT2 (the IRQ enable on a PC) */
	(void)inb(COM1_PORT_BASE + REG_LSR);
	(void)inb(COM1_PORT_BASE + REG_MSR);
	(void)inb(COM1_PORT_BASE + REG_IIR);
	kputs("uart-irq: ready");

	if (do_echo) {
		echoed = echo();
		outb(COM1_PORT_BASE + REG_IER, 0);
		kprintf("uart-irq: echoed %lu bytes in %u interrupts\n", echoed, rx_irqs);
		check_ge("uart-irq-rx-interrupts", 1, rx_irqs);
	}
	check_eq("uart-irq-rx-lost", 0, rx_lost);

	t0 = testdev_clock_ns();
	if (bytes && cmdline_get_u64("poll", 0)) {
		/* The baseline: the same pattern by polling LSR.THRE, no interrupts. */
		kprintf("uart-irq: pattern %lu bytes\n", bytes);
		for (tx_sent = 0; tx_sent < bytes; tx_sent++)
			putc_polled(uart_irq_pattern(tx_sent));
		kprintf("\nuart-irq: sent %lu bytes polling in %lu us\n", tx_sent, (testdev_clock_ns() - t0) / 1000);
	} else if (bytes) {
		kprintf("uart-irq: pattern %lu bytes\n", bytes);
		tx_total = bytes;
		ier = IER_THRI;
		outb(COM1_PORT_BASE + REG_IER, ier); /* THR is empty: the THRE interrupt fires at once */
		while (!__atomic_load_n(&tx_done, __ATOMIC_ACQUIRE))
			wait_for_interrupt();
		kprintf("\nuart-irq: sent %lu bytes in %u interrupts in %lu us\n", tx_sent, tx_irqs,
			(testdev_clock_ns() - t0) / 1000);
		check_eq("uart-irq-sent", bytes, tx_sent);
		check_ge("uart-irq-tx-interrupts", bytes / TX_FIFO, tx_irqs);
	}
	finish();
}
