/* SPDX-License-Identifier: MIT */
/* squib-monitor's exit statuses (README: "Exit statuses"). */
#ifndef SQUIB_MONITOR_EXIT_STATUS_H
#define SQUIB_MONITOR_EXIT_STATUS_H

enum monitor_exit_status {
	EXIT_GUEST_DONE = 0,     /* guest shut down or reset (testdev: the guest's own status) */
	EXIT_SETUP_FAILED = 1,   /* could not build the VM: bad kernel, no KVM, ... */
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_VCPU_FAILED = 3,    /* a vCPU worker died, or the guest hit an unrecoverable internal error */
	EXIT_DEVICE_FAILED = 4,  /* a device worker died or broke the protocol */
	EXIT_GUEST_FAULT = 5,    /* the guest triple-faulted (with --on-reboot exit) */
	EXIT_SIGNAL_BASE = 128,  /* stopped by SIGINT/SIGTERM: 128 + the signal */
};

#endif
