// Exit statistics hypapp: counts VM exits per basic reason (and I/O exits per port, CR accesses
// per register, VMCALLs per function) — what the seed's author wanted to know about Windows XP's
// VMCALL storm without printing a line per exit. Printed at shutdown or on demand (report()).
//
// Runs in: VMX root operation (onExit: a few array increments per exit).

import { EXIT_REASON, exitReasonName } from '../../machine/vmx/exit-reasons.js';
import { QUAL_CR, QUAL_IO } from '../../machine/vmx/controls.js';
import type { HypApp } from '../hypapp.js';
import type { Hypervisor } from '../hypervisor.js';
import { GPR, type VCpu } from '../vcpu.js';

export class ExitStats implements HypApp {
  readonly name = 'exit-stats';
  readonly byReason = new Float64Array(65);
  readonly ioByPort = new Map<number, number>();
  readonly crByKind = new Map<string, number>();
  readonly vmcallByFn = new Map<number, number>();
  private printed = false;

  /** `print` receives the report at shutdown (null: only on demand). */
  constructor(private readonly print: ((text: string) => void) | null = null) {}

  onExit(v: VCpu, reason: number): void {
    this.byReason[reason]++;
    if (reason === EXIT_REASON.IO_INSTRUCTION) {
      const port = v.qualification >>> QUAL_IO.PORT_SHIFT;
      this.ioByPort.set(port, (this.ioByPort.get(port) ?? 0) + 1);
    } else if (reason === EXIT_REASON.CR_ACCESS) {
      const k = `CR${v.qualification & QUAL_CR.CR_MASK} ${['write', 'read', 'CLTS', 'LMSW'][(v.qualification & QUAL_CR.ACCESS_MASK) >>> QUAL_CR.ACCESS_SHIFT]}`;
      this.crByKind.set(k, (this.crByKind.get(k) ?? 0) + 1);
    } else if (reason === EXIT_REASON.VMCALL) {
      const fn = v.regs[GPR.EAX] >>> 0;
      this.vmcallByFn.set(fn, (this.vmcallByFn.get(fn) ?? 0) + 1);
    }
  }

  get total(): number { return this.byReason.reduce((a, b) => a + b, 0); }

  report(): string {
    const rows: string[] = [`VM exits: ${this.total}`];
    const order = [...this.byReason.keys()].filter((r) => this.byReason[r] > 0).sort((a, b) => this.byReason[b] - this.byReason[a]);
    for (const r of order) rows.push(`  ${exitReasonName(r).padEnd(24)} ${String(this.byReason[r]).padStart(10)}`);
    const detail = (title: string, m: Map<number | string, number>, key: (k: number | string) => string): void => {
      if (m.size === 0) return;
      rows.push(`  ${title}:`);
      for (const [k, n] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 16)) rows.push(`    ${key(k).padEnd(22)} ${String(n).padStart(10)}`);
    };
    detail('I/O exits by port', this.ioByPort, (k) => `port 0x${(k as number).toString(16)}`);
    detail('control-register exits', this.crByKind, (k) => String(k));
    detail('VMCALLs by EAX', this.vmcallByFn, (k) => `EAX=0x${(k as number).toString(16)}`);
    return rows.join('\n');
  }

  onShutdown(_hv: Hypervisor, _why: string): void {
    if (this.print !== null && !this.printed) { this.printed = true; this.print(this.report()); }
  }
}
