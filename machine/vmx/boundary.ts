// VM exits that happen between instructions in VMX non-root operation (Intel SDM Vol3C 25.2,
// 25.5.1): the VMX-preemption timer, NMI-window and interrupt-window exiting. The run loop calls
// boundaryExits() before each block when any pin-based or processor-based control is set.
//
// Runs in: VMX non-root operation, at an instruction boundary.

import type { CPU } from '../cpu/cpu.js';
import { EFLAGS } from '../cpu/arch.js';
import type { NonRoot } from './nonroot.js';
import { PIN, PROC } from './controls.js';
import { EXIT_REASON } from './exit-reasons.js';
import { boundaryExit } from './intercepts.js';

/** Perform the highest-priority pending boundary exit, if any; true if the processor exited. */
export function boundaryExits(c: CPU, nr: NonRoot): boolean {
  // A pending MTF VM exit comes first: it outranks the timer and the windows (Vol3C 25.5.2).
  if (nr.mtfPending) {
    nr.mtfPending = false;
    boundaryExit(c, EXIT_REASON.MONITOR_TRAP_FLAG);
    return true;
  }
  // The timer counts down with the TSC (virtual time): it expires at its deadline (25.5.1).
  if ((nr.pin & PIN.ACTIVATE_VMX_PREEMPTION_TIMER) !== 0 && c.clock.nowNs() >= nr.preemptionDeadline) {
    nr.preemptionDeadline = Infinity;
    boundaryExit(c, EXIT_REASON.PREEMPTION_TIMER);
    return true;
  }
  // An interrupt shadow (STI / MOV SS) blocks both windows for one instruction.
  if (c.intShadow) return false;
  if ((nr.proc & PROC.NMI_WINDOW_EXITING) !== 0 && !nr.virtualNmiBlocked) {
    boundaryExit(c, EXIT_REASON.NMI_WINDOW);
    return true;
  }
  if ((nr.proc & PROC.INTERRUPT_WINDOW_EXITING) !== 0 && (c.flags & EFLAGS.IF) !== 0) {
    boundaryExit(c, EXIT_REASON.INTERRUPT_WINDOW);
    return true;
  }
  return false;
}
