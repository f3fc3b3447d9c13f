// Handler registry: every exported `op_*` function of the family modules, by name. The decoder
// binds opcode-table rows to these names (optable.ts explains the naming).

import type { CPU } from '../cpu.js';
import type { Handler, Insn } from '../insn.js';
import * as alu from './alu.gen.js';
import * as mov from './mov.js';
import * as stack from './stack.js';
import * as branch from './branch.js';
import * as families from './families.js';

export const HANDLERS: Record<string, Handler> = {};
for (const mod of [alu, mov, stack, branch, ...families.ALL]) {
  for (const [name, fn] of Object.entries(mod)) {
    if (name.startsWith('op_') && typeof fn === 'function') {
      if (HANDLERS[name]) throw new Error(`duplicate handler ${name}`);
      HANDLERS[name] = fn as Handler;
    }
  }
}

/** Undefined opcode / bad LOCK: #UD. */
export function op_ud(c: CPU): void { c.ud(); }
/** Instruction longer than 15 bytes: #GP(0). */
export function op_gp0(c: CPU): void { c.gp(0); }
/** A table row whose handler is not written yet: report it (or #UD, per the CPU's setting). */
export function unimplemented(c: CPU, i: Insn): void {
  const name = i.def ? `${i.def.mnemonic} (${i.def.handler})` : 'unknown';
  c.unsupported(`unimplemented instruction: ${name}`);
}
