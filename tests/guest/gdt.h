/* SPDX-License-Identifier: MIT */
#ifndef SQUIB_GUEST_GDT_H
#define SQUIB_GUEST_GDT_H

#define GDT_CODE_SELECTOR 0x08
#define GDT_DATA_SELECTOR 0x10

/* Loads the guest's own GDT and reloads CS, DS, ES, SS. Before percpu_init. */
void gdt_load(void);

#endif
