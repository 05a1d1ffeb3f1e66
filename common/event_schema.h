/*
 * The journal's vocabulary, defined once: the event actions and the field names under `issu`
 * that the run writes (scheduler/), --resume reads back (scheduler/journal.c) and the report
 * reads (report/report_load.c). In common/ so that report/ need not depend on scheduler/.
 * Renaming a field here renames it for all three; a string literal elsewhere
 * would let a resume silently miss it. docs/events.md describes each.
 */
#ifndef ISSU_COMMON_EVENT_SCHEMA_H
#define ISSU_COMMON_EVENT_SCHEMA_H

/* event.action */
#define EV_RUN_STARTED "run-started"
#define EV_RUN_FINISHED "run-finished"
#define EV_RUN_BLOCKED "run-blocked"
#define EV_PLAN_COMPUTED "plan-computed"
#define EV_PLAN_WAVE "plan-wave"
#define EV_WAVE_STARTED "wave-started"
#define EV_WAVE_FINISHED "wave-finished"
#define EV_GATE_WAITING "gate-waiting"
#define EV_GATE_APPROVED "gate-approved"
#define EV_SOAK_STARTED "soak-started"
#define EV_SOAK_RESUMED "soak-resumed"
#define EV_SOAK_FINISHED "soak-finished"
#define EV_BUDGET_EXCEEDED "budget-exceeded"
#define EV_DEVICE_STARTED "device-started"
#define EV_PHASE_CHANGED "phase-changed"
#define EV_DEVICE_FINISHED "device-finished"
#define EV_DEVICE_HELD "device-held"
#define EV_DEVICE_RELEASED "device-released"
#define EV_DEVICE_RECONNECTED "device-reconnected"
#define EV_DEVICE_RECONCILED "device-reconciled"
#define EV_CHECK_RESULT "check-result"
#define EV_ALARM_BASELINE "alarm-baseline"
#define EV_OLD_MASTER_PENDING "old-master-pending"
/* issue 15's health checks (docs/checks.md) */
#define EV_CHECK_SNAPSHOT "check-snapshot"
#define EV_CHECK_ATTEMPT "check-attempt"
#define EV_CHECK_PASSED "check-passed"
#define EV_CHECK_FAILED "check-failed"

/* fields under `issu` */
#define F_INVENTORY_HASH "inventory_hash"
#define F_POLICY_HASH "policy_hash"
#define F_LIMIT "limit"
#define F_RESUMED "resumed"
#define F_CLOCK_START "clock_start"
#define F_WAVE "wave"
#define F_WAVE_NAME "wave_name"
#define F_SOAK_S "soak_s"
#define F_SOAK_LEFT_S "soak_left_s"
#define F_REASON "reason"
#define F_PHASE "phase"
#define F_RESULT "result"
#define F_ORIGINAL_MASTER "original_master"
#define F_VERSIONS_BEFORE "versions_before"
#define F_HELD "held"
#define F_BY "by"
/* a router's events (scheduler/device.c, preflight.c, probe.c, post_issu.c) */
#define F_CANARY "canary"
#define F_PREVIOUS_PHASE "previous_phase"
#define F_DEVICE_ELAPSED_S "device_elapsed_s"
#define F_PHASE_DURATION_S "phase_duration_s"
#define F_LINE "line"
#define F_VERSIONS_AFTER "versions_after"
#define F_RE0 "re0" /* the keys of versions_before and versions_after */
#define F_RE1 "re1"
#define F_DEVICE_OUTPUT "device_output"
#define F_TIMELINE "timeline" /* [{phase, start_s, duration_s}] */
#define F_START_S "start_s"
#define F_DURATION_S "duration_s"
#define F_RECONNECTS "reconnects"
#define F_ATTEMPTS "attempts"
#define F_DECISION "decision"
#define F_FACTS "facts"
#define F_OLD_MASTER "old_master"
#define F_PENDING_INSTALL "pending_install"
/* check-result: issu.check.{name, result, code, reason, evidence} */
#define F_CHECK "check"
#define F_CHECK_NAME "name"
#define F_CHECK_CODE "code"
#define F_CHECK_EVIDENCE "evidence"
/* alarm-baseline: the alarms before the ISSU, [{class, description}], and whether the list was
 * cut to keep the line small (EVENT_LINE_MAX) */
#define F_ALARMS "alarms"
#define F_ALARMS_CUT "alarms_cut"
#define F_ALARM_CLASS "class"
#define F_ALARM_DESCRIPTION "description"

/* labels */
#define L_SITE "site"
/* under issu.checks: the health checks of one router (check-* events) */
#define F_CHECKS "checks"
#define F_CHECK_MOMENT "moment" /* pre, post, check (issu-fleet check) */
#define F_CHECK_FILE "file"
#define F_CHECK_REUSED "reused"
#define F_CHECK_ATTEMPT "attempt"
#define F_CHECK_TESTS "tests"
#define F_CHECK_PASSED "passed"
#define F_CHECK_FAILED "failed"
#define F_CHECK_CONVERGE_S "converge_s" /* time from the first post attempt to the last */
#define F_CHECK_TOOK_S "took_s"         /* what taking one snapshot took (its commands) */
#define F_CHECK_FAILURES "failures"     /* [{test, command, item, rule, pre, post, message}] */
#define F_CHECK_FAILURES_LEFT "failures_left_off"

/* event.outcome of a router whose state could not be established: it is held */
#define OUTCOME_UNKNOWN "unknown"

/* The longest event line the run writes. Log shippers stop at their own limit (Fluent Bit's
 * tail: 32 KiB by default; Vector: 100 KiB); every list that grows with the fleet is cut into
 * events, or bounded, to stay well under it. */
#define EVENT_LINE_MAX 16384

#endif
