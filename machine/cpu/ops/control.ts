// Control family: HLT, CLI/STI (more to come: far transfers, INT/IRET, SYSENTER/SYSEXIT).

import type { CPU } from '../cpu.js';
import { EFLAGS, IOPL_SHIFT } from '../arch.js';
import { Mode } from '../state.js';

/** HLT (CPL 0 only): stop until an interrupt, NMI or reset (SDM Vol2 HLT). */
export function op_F4_hlt(c: CPU): void {
  if (c.cpl !== 0) c.gp(0);
  c.halted = true;
  c.blockStop = true;
}

/** CLI/STI: allowed when CPL <= IOPL (protected mode) or IOPL = 3 (V86); no VME/PVI support. */
function ifAllowed(c: CPU): boolean {
  if (c.mode === Mode.Real) return true;
  const iopl = (c.flags >>> IOPL_SHIFT) & 3;
  return c.mode === Mode.V86 ? iopl === 3 : c.cpl <= iopl;
}
export function op_FA_cli(c: CPU): void { if (!ifAllowed(c)) c.gp(0); c.flags &= ~EFLAGS.IF; }
export function op_FB_sti(c: CPU): void {
  if (!ifAllowed(c)) c.gp(0);
  // STI inhibits interrupts until after the next instruction, only if IF was clear (SDM Vol2 STI).
  if ((c.flags & EFLAGS.IF) === 0) c.intShadow = true;
  c.flags |= EFLAGS.IF;
}
