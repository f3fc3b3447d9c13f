// A decoded instruction. One class, all fields set in the constructor, so every Insn has the same
// hidden class and handler code stays monomorphic. Blocks of these are cached per physical page.

import type { OpDef } from './optable.js';
import { SEG_NONE } from './arch.js';
import { ZERO_REG } from './state.js';

export type Handler = (c: import('./cpu.js').CPU, i: Insn) => void;

export const enum Rep { None = 0, RepE = 1, RepNE = 2 }

export class Insn {
  exec: Handler = null as unknown as Handler;
  /** Length in bytes (prefixes included). */
  len = 0;
  /** Opcode, 0x00-0xFF or 0x0F00-0x0FFF. */
  op = 0;
  /** Operand size is 32 bits (else 16). */
  o32 = false;
  /** Address size is 32 bits (else 16). */
  a32 = false;
  mod = 0;
  /** ModRM.reg, or the register number for register-in-opcode forms. */
  reg = 0;
  /** Condition code 0-15 of Jcc/SETcc/CMOVcc (low opcode nibble). */
  cc = 0;
  rm = 0;
  // Memory operand: offset = base + (index << scale) + disp, truncated to the address size.
  // Absent base/index point at ZERO_REG (always 0).
  base = ZERO_REG;
  index = ZERO_REG;
  scale = 0;
  disp = 0;
  /** Segment of the memory operand (default or override), or SEG_NONE for a register operand. */
  seg = SEG_NONE;
  /** Segment override prefix given (-1 if none); string instructions use it for the source. */
  segOverride = -1;
  imm = 0;
  imm2 = 0;
  rep: Rep = Rep.None;
  lock = false;
  /** Opcode table row (for disassembly, tracing and reports). */
  def: OpDef | null = null;

  /** True if the ModRM operand is a register (mod = 3). */
  get isReg(): boolean { return this.mod === 3; }

  reset(): void {
    this.exec = null as unknown as Handler;
    this.len = 0; this.op = 0; this.o32 = false; this.a32 = false; this.mod = 0; this.reg = 0; this.cc = 0; this.rm = 0;
    this.base = ZERO_REG; this.index = ZERO_REG; this.scale = 0; this.disp = 0; this.seg = SEG_NONE;
    this.segOverride = -1; this.imm = 0; this.imm2 = 0; this.rep = Rep.None; this.lock = false; this.def = null;
  }
}
