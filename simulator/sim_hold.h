/*
 * A TEST FACILITY, not router behaviour: a hold point that stops a simulated router's ISSU before
 * a phase until the test releases it, so a test that needs a router still in flight (drain,
 * signals, ctl status during a wave, a kill mid-wave) holds it there deterministically instead of
 * racing the clock. No real router has anything like it; issu-fleet must never depend on it.
 *
 * The hold is a file beside the router's state file, STATE.hold (routers/NAME.json.hold in a
 * lab), holding one phase name (validate, backup-upgrade, ..., old-master-reboot). While it
 * exists, every ISSU step of that phase and of the later ones waits, as a hang would. Removing it
 * releases the router: its ISSU goes on from the step it waited at, catching up with its clock.
 * Tests write and remove it (tests/unit/lab.h: lab_hold, lab_release).
 */
#ifndef ISSU_SIM_HOLD_H
#define ISSU_SIM_HOLD_H

#include "simulator/sim.h"

/* The phase the router is held before, or -1 (no hold file, or not a phase name). */
int sim_hold_phase(const struct sim_router *r);
/* Marks every step of the held phase and later as never coming (sim_timeline's last step). */
void sim_hold_apply(const struct sim_router *r, struct sim_step *steps, size_t n);
/* Blocks while the router is held; exits as the CLI does when the session's reader goes away.
 * Returns true when it waited (the caller then recomputes the timeline). */
bool sim_hold_wait(const struct sim_router *r);

#endif
