/* SPDX-License-Identifier: MIT */
/*
 * The process role table (monitor/supervise/roles.c): every role has a
 * profile of its own name, an entry point that matches how it is spawned,
 * and says what it inherits; the spawners use exactly these entries.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "monitor/supervise/roles.h"
#include "vcpu-worker/worker.h"

static bool filled(const char *s)
{
	return s && s[0] != '\0';
}

Test(roles, every_role_is_complete_and_has_its_own_profile)
{
	bool profile_used[SANDBOX_ROLE_COUNT] = { false };

	for (int i = 0; i < ROLE_COUNT; i++) {
		const struct process_role *r = &process_roles[i];

		cr_assert(filled(r->name), "role %d has no name", i);
		if (r->profile == SANDBOX_ROLE_COUNT) {
			cr_assert(filled(r->unfiltered), "role %s has no filter and does not say why", r->name);
			cr_assert(filled(r->entry) && filled(r->spawned_by) && filled(r->fds), "role %s is incomplete",
				  r->name);
			continue;
		}
		cr_assert_null(r->unfiltered, "role %s has a filter and says it has none", r->name);
		cr_assert(sandbox_role(r->profile), "role %s has no sandbox profile", r->name);
		cr_assert_str_eq(sandbox_role_name(r->profile), r->name, "role %s uses profile %s", r->name,
				 sandbox_role_name(r->profile));
		cr_assert_not(profile_used[r->profile], "two roles share profile %s", r->name);
		profile_used[r->profile] = true;
		cr_assert(filled(r->entry) && filled(r->spawned_by) && filled(r->fds), "role %s is incomplete",
			  r->name);
		switch (r->spawn) {
		case SPAWN_NONE:
			cr_assert(r->clone_entry == NULL && r->exec_binary == NULL, "role %s", r->name);
			break;
		case SPAWN_CLONE_VM:
			cr_assert(r->clone_entry != NULL && r->exec_binary == NULL, "role %s", r->name);
			break;
		case SPAWN_FORK:
			cr_assert(r->clone_entry == NULL && r->exec_binary == NULL, "role %s", r->name);
			break;
		case SPAWN_FORK_EXEC:
			cr_assert(r->clone_entry == NULL && filled(r->exec_binary) && !strchr(r->exec_binary, '/'),
				  "role %s", r->name);
			break;
		}
	}
}

Test(roles, the_table_is_what_runs)
{
	cr_assert_eq(process_roles[ROLE_VCPU].clone_entry, vcpu_worker_main);
	cr_assert_eq(process_roles[ROLE_VCPU].profile, SANDBOX_ROLE_VCPU);
	cr_assert_str_eq(process_roles[ROLE_DEVICE].exec_binary, "squib-device");
	cr_assert_eq(process_roles[ROLE_DEVICE].profile, SANDBOX_ROLE_DEVICE);
	cr_assert_eq(process_roles[ROLE_MONITOR].profile, SANDBOX_ROLE_MONITOR);
	cr_assert_eq(process_roles[ROLE_SPAWNER].spawn, SPAWN_FORK);
}
