// Human-readable CPU state dumps for triple faults, unsupported instructions and the debugger.
// Browser-safe (no Node APIs). Reads guest memory without side effects (no A/D bits, no faults).

import type { CPU } from '../machine/cpu/cpu.js';
import { AR, CR0, CR4, EFER, EFLAGS, REG32_NAMES, SEG, SEG_NAMES } from '../machine/cpu/arch.js';
import { Mode } from '../machine/cpu/state.js';
import { Access, walk, WalkFault } from '../machine/cpu/paging.js';

const hex = (v: number, w = 8): string => (v >>> 0).toString(16).padStart(w, '0');

/** Guest-linear → physical without side effects; null if unmapped. */
export function peekTranslate(c: CPU, lin: number): number | null {
  if (!c.paging) return (lin >>> 0) & (c.mem.a20 ? 0xffffffff : 0xffefffff);
  const r = walk(c.mem, c, lin, Access.Read, false, { setAD: false });
  return r instanceof WalkFault ? null : r.pa;
}

/** Read `n` bytes at a linear address without side effects; stops at the first unmapped byte. */
export function peekLinearBytes(c: CPU, lin: number, n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const pa = peekTranslate(c, (lin + k) | 0);
    if (pa === null) break;
    out.push(c.mem.read(pa, 1));
  }
  return out;
}

export function modeName(c: CPU): string {
  if (c.mode === Mode.Real) return 'real mode';
  if (c.mode === Mode.V86) return 'virtual-8086 mode';
  const paging = !c.paging ? 'no paging' : (c.cr4 & CR4.PAE) !== 0 ? 'PAE paging' : '32-bit paging';
  return `protected mode, ${c.cs32 ? '32' : '16'}-bit code, CPL ${c.cpl}, ${paging}`;
}

export function flagsString(f: number): string {
  const names: [number, string][] = [[EFLAGS.CF, 'CF'], [EFLAGS.PF, 'PF'], [EFLAGS.AF, 'AF'], [EFLAGS.ZF, 'ZF'], [EFLAGS.SF, 'SF'],
    [EFLAGS.TF, 'TF'], [EFLAGS.IF, 'IF'], [EFLAGS.DF, 'DF'], [EFLAGS.OF, 'OF'], [EFLAGS.NT, 'NT'], [EFLAGS.RF, 'RF'], [EFLAGS.VM, 'VM'], [EFLAGS.AC, 'AC'], [EFLAGS.ID, 'ID']];
  const set = names.filter(([b]) => (f & b) !== 0).map(([, n]) => n);
  return `${set.join(' ')} IOPL=${(f >>> 12) & 3}`;
}

function bitsString(v: number, table: Record<string, number>): string {
  return Object.entries(table).filter(([, b]) => (v & b) !== 0).map(([n]) => n).join(' ') || '-';
}

/** The register/segment/control dump printed on a triple fault or an unsupported instruction. */
export function dumpState(c: CPU, opts: { eip?: number } = {}): string {
  const eip = opts.eip ?? c.eip;
  const f = c.getEflags();
  const lines: string[] = [];
  lines.push(`  mode   ${modeName(c)}`);
  lines.push(`  CS:EIP ${hex(c.segSel[SEG.CS], 4)}:${hex(eip)}  (linear ${hex(c.segBase[SEG.CS] + eip)})`);
  lines.push(`  EFLAGS ${hex(f)}  [${flagsString(f)}]`);
  for (let r = 0; r < 8; r += 4) {
    lines.push('  ' + [0, 1, 2, 3].map((k) => `${REG32_NAMES[r + k].toUpperCase()}=${hex(c.r32[r + k])}`).join(' '));
  }
  for (let s = 0; s < 8; s++) {
    const ar = c.segAr[s];
    const attrs = (ar & AR.UNUSABLE) !== 0 ? 'unusable' : `ar=${hex(ar, 4)} dpl=${(ar & AR.DPL_MASK) >>> AR.DPL_SHIFT}${(ar & AR.DB) !== 0 ? ' 32-bit' : ''}`;
    lines.push(`  ${SEG_NAMES[s].toUpperCase().padEnd(4)} ${hex(c.segSel[s], 4)} base=${hex(c.segBase[s])} limit=${hex(c.segLimit[s])} ${attrs}`);
  }
  lines.push(`  GDTR base=${hex(c.gdtrBase)} limit=${hex(c.gdtrLimit, 4)}   IDTR base=${hex(c.idtrBase)} limit=${hex(c.idtrLimit, 4)}`);
  lines.push(`  CR0=${hex(c.cr0)} [${bitsString(c.cr0, CR0)}]`);
  lines.push(`  CR2=${hex(c.cr2)} CR3=${hex(c.cr3)} CR4=${hex(c.cr4)} [${bitsString(c.cr4, CR4)}] EFER=${hex(c.efer)} [${bitsString(c.efer, EFER)}]`);
  const lin = (c.segBase[SEG.CS] + eip) | 0;
  const bytes = peekLinearBytes(c, lin, 16);
  lines.push(`  bytes at CS:EIP: ${bytes.length ? bytes.map((b) => hex(b, 2)).join(' ') : '(not mapped)'}`);
  return lines.join('\n');
}

export { hex };
