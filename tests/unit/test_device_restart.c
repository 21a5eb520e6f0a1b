/* SPDX-License-Identifier: MIT */
/*
 * The restart budget and back-off (monitor/supervise/device_restart.c): at
 * most --restart-budget N restarts within S seconds; a worker that served a
 * while is replaced at once, a crash loop backs off 10 ms doubling to 1 s.
 */
#include <criterion/criterion.h>

#include "monitor/supervise/device_restart.h"

#define MS 1000000ull
#define S 1000000000ull

Test(device_restart, budget_counts_restarts_within_the_window)
{
	uint64_t times[8] = { 0 }, now = 100 * S;

	cr_assert(device_restart_budget_ok(times, 8, now, 5, 10 * S), "no restart yet");
	for (unsigned i = 0; i < 4; i++)
		times[i] = now - i * S;
	cr_assert(device_restart_budget_ok(times, 8, now, 5, 10 * S), "a fifth within 10 s");
	times[4] = now - 9 * S;
	cr_assert_not(device_restart_budget_ok(times, 8, now, 5, 10 * S), "a sixth within 10 s");
	cr_assert(device_restart_budget_ok(times, 8, now + 2 * S, 5, 10 * S), "once the oldest left the window");
}

Test(device_restart, stable_workers_are_replaced_at_once)
{
	cr_assert_eq(device_restart_delay(0), 0);
}

Test(device_restart, a_crash_loop_backs_off_doubling_to_one_second)
{
	cr_assert_eq(device_restart_delay(1), 10 * MS);
	cr_assert_eq(device_restart_delay(2), 20 * MS);
	cr_assert_eq(device_restart_delay(3), 40 * MS);
	cr_assert_eq(device_restart_delay(7), 640 * MS);
	cr_assert_eq(device_restart_delay(8), 1 * S);
	cr_assert_eq(device_restart_delay(1000), 1 * S);
}
