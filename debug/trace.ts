// Execution trace (--trace FILE): executed instructions (disassembled), VM exits (from the VMX unit's
// ring, with decoded qualifications) and delivered events, filtered by linear address ranges and
// exit reasons. Lines go to a sink (the CLI writes them to a file). Driven by MachineTarget's CPU
// hooks: pages with no traced address run at full speed, traced pages one instruction at a time.
// Browser-safe.

import type { CPU } from '../machine/cpu/cpu.js';
import type { VmxUnit } from '../machine/vmx/vmx-unit.js';
import { EXIT_RING } from '../machine/vmx/vmx-unit.js';
import { EXIT_REASON } from '../machine/vmx/exit-reasons.js';
import { SEG } from '../machine/cpu/arch.js';
import { excName, EventKind } from '../machine/cpu/exceptions.js';
import { disassemble } from './disasm.js';
import { exitLine } from './exit-trace.js';

export interface TraceFilter {
  /** Instructions: 'all', 'none', or linear ranges [start, end). */
  insns: 'all' | 'none' | [number, number][];
  /** VM exits: 'all', 'none', or a set of basic exit reasons. */
  exits: 'all' | 'none' | Set<number>;
}

const hx = (v: number, w = 8): string => (v >>> 0).toString(16).padStart(w, '0');

function parseNum(s: string): number {
  const t = s.trim().toLowerCase();
  const v = t.startsWith('0x') ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? parseInt(t, 10) : NaN;
  if (!Number.isFinite(v)) throw new Error(`'${s}' is not a number`);
  return v;
}

/** Parse `--trace-insns` (all | none | START-END[,START-END...]) and `--trace-exits` (all | none | NAME|NUMBER[,...]). */
export function parseTraceFilter(insns = 'all', exits = 'all'): TraceFilter {
  const f: TraceFilter = { insns: 'all', exits: 'all' };
  if (insns === 'none' || insns === 'all') f.insns = insns;
  else {
    f.insns = insns.split(',').map((r) => {
      const m = /^([^-]+)-([^-]+)$/.exec(r.trim());
      if (!m) throw new Error(`--trace-insns: '${r}' is not START-END`);
      const a = parseNum(m[1]), b = parseNum(m[2]);
      if (b <= a) throw new Error(`--trace-insns: empty range '${r}'`);
      return [a, b] as [number, number];
    });
  }
  if (exits === 'none' || exits === 'all') f.exits = exits;
  else {
    const names = EXIT_REASON as Record<string, number>;
    f.exits = new Set(exits.split(',').map((x) => {
      const t = x.trim().toUpperCase();
      if (names[t] !== undefined) return names[t];
      if (/^(0X[0-9A-F]+|\d+)$/.test(t)) return parseNum(t);
      throw new Error(`--trace-exits: unknown exit reason '${x}' (names as in the SDM, e.g. CPUID,IO_INSTRUCTION,CR_ACCESS)`);
    }));
  }
  return f;
}

export class Tracer {
  private seenExits: number;
  lines = 0;

  constructor(private readonly vmx: VmxUnit, private readonly read: (lin: number, len: number) => Uint8Array,
    private readonly sink: (line: string) => void, readonly filter: TraceFilter) {
    this.seenExits = vmx.exits;
    const c = vmx.cpu;
    if (filter.insns !== 'none') {
      // Events delivered (exceptions, interrupts): chained to any hook already there.
      const prev = c.hooks.onEvent;
      c.hooks.onEvent = (vector, kind, code) => {
        prev?.(vector, kind, code);
        this.pollExits();
        const what = kind === EventKind.External ? 'interrupt' : kind === EventKind.Nmi ? 'NMI' : kind === EventKind.Software ? 'INT' : 'exception';
        this.out(`${this.stamp(c)}  -- ${what} ${excName(vector)}${vector > 31 ? ` (0x${vector.toString(16)})` : ''}${code >= 0 ? ` error code 0x${code.toString(16)}` : ''}`);
      };
    }
  }

  private out(line: string): void { this.lines++; this.sink(line); }
  private stamp(c: CPU): string { return String(c.clock.insns).padStart(12); }

  /** True if instructions on the page of `lin` are traced (they then run one at a time). */
  private pageTraced(lin: number): boolean {
    const f = this.filter.insns;
    if (f === 'all') return true;
    if (f === 'none') return false;
    const p0 = (lin & ~0xfff) >>> 0, p1 = p0 + 0x1000;
    for (const [a, b] of f) if (a < p1 && b > p0) return true;
    return false;
  }

  private traced(lin: number): boolean {
    const f = this.filter.insns;
    if (f === 'all') return true;
    if (f === 'none') return false;
    for (const [a, b] of f) if (lin >= a && lin < b) return true;
    return false;
  }

  /** Called before the instruction at CS:EIP (linear `lin`) runs; returns true to run this page one instruction at a time. */
  insn(c: CPU, lin: number): boolean {
    if (!this.pageTraced(lin)) return false;
    if (!this.traced(lin)) return true;
    const bits = c.cs32 ? 32 : 16;
    const bytes = this.read(lin, 15);
    const d = disassemble(bytes, c.eip, bits, 1);
    const text = d.length ? `${d[0].bytes.padEnd(16)} ${d[0].text}` : '(not mapped)';
    const where = bits === 16 ? `${hx(c.segSel[SEG.CS], 4)}:${hx(c.eip, 4)}    ` : `${hx(c.segSel[SEG.CS], 4)}:${hx(c.eip)}`;
    this.out(`${this.stamp(c)}  ${where}  ${hx(lin)}  ${text}`);
    return true;
  }

  /** Log VM exits recorded since the last call (from the VMX unit's ring buffer). */
  pollExits(): void {
    const u = this.vmx;
    if (u.exits === this.seenExits) return;
    const from = Math.max(this.seenExits, u.exits - EXIT_RING);
    if (from > this.seenExits && this.filter.exits !== 'none') this.out(`${''.padStart(12)}  -- ${from - this.seenExits} VM exits not traced (ring buffer overrun)`);
    for (let k = from; k < u.exits; k++) {
      const j = k % EXIT_RING;
      const x = { reason: u.ringReason[j] >>> 0, qualification: u.ringQual[j] >>> 0, rip: u.ringRip[j] >>> 0, insns: u.ringInsns[j] };
      const f = this.filter.exits;
      if (f === 'none' || (f !== 'all' && !f.has(x.reason & 0xffff))) continue;
      this.out(`VM exit ${exitLine(k + 1, x).trimStart()}`);
    }
    this.seenExits = u.exits;
  }

  /** Flush what is left at the end of the run. */
  finish(): void { this.pollExits(); }
}
