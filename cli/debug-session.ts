// The command line's debugging options: --gdb PORT / --gdb-wait (cli/gdb-server.ts), --trace FILE
// with its filters (debug/trace.ts), and --monitor CMD (monitor commands run when the run ends,
// output on stderr). Node side only; the machinery is in debug/.

import { openSync, writeSync, closeSync } from 'node:fs';
import type { Machine, RunResult } from '../machine/machine.js';
import { UsageError, type FlagSpec, type ParsedFlags } from './args.js';
import { MachineTarget } from '../debug/machine-target.js';
import { parseTraceFilter, Tracer } from '../debug/trace.js';
import { loadIced } from '../debug/disasm.js';
import { runGdbSession, type GdbSessionEnd, type GdbSessionOptions } from './gdb-server.js';

export const DEBUG_FLAGS: FlagSpec[] = [
  { name: 'gdb', arg: 'PORT', help: 'GDB remote stub on 127.0.0.1:PORT (gdb: target remote :PORT); after a failure, waits for gdb to inspect the state' },
  { name: 'gdb-wait', help: 'with --gdb: stop before the first instruction until gdb attaches' },
  { name: 'trace', arg: 'FILE', help: 'log executed instructions (disassembled), events and VM exits to FILE' },
  { name: 'trace-insns', arg: 'all|none|A-B,...', help: 'with --trace: instructions to log (linear address ranges [A, B); default all)' },
  { name: 'trace-exits', arg: 'all|none|R,...', help: 'with --trace: VM exit reasons to log (SDM names such as CPUID,CR_ACCESS, or numbers; default all)' },
  { name: 'monitor', arg: 'CMD', repeat: true, help: "run a monitor command when the run ends, output on stderr (e.g. --monitor vmcs --monitor 'exits 50'; 'help' lists them)" },
];

export class DebugSession {
  readonly target: MachineTarget;
  private traceFd = -1;
  private traceBuf: string[] = [];
  private traceLen = 0;
  private tracer: Tracer | null = null;

  private constructor(readonly m: Machine, private readonly flags: ParsedFlags) {
    this.target = new MachineTarget(m);
  }

  /** Validate the debug flags, open the trace file and load the disassembler if needed. */
  static async create(m: Machine, flags: ParsedFlags, limit: number): Promise<DebugSession> {
    const s = new DebugSession(m, flags);
    s.target.limit = limit;
    if (flags.has('gdb')) {
      const port = Number(flags.get('gdb')![0]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--gdb: '${flags.get('gdb')![0]}' is not a TCP port (0: any free port)`);
    } else if (flags.has('gdb-wait')) throw new UsageError('--gdb-wait needs --gdb PORT');
    if (!flags.has('trace') && (flags.has('trace-insns') || flags.has('trace-exits'))) throw new UsageError('--trace-insns/--trace-exits need --trace FILE');
    if (flags.has('gdb') || flags.has('trace') || flags.has('monitor')) await loadIced();
    if (flags.has('trace')) {
      let filter;
      try { filter = parseTraceFilter(flags.get('trace-insns')?.[0], flags.get('trace-exits')?.[0]); } catch (e) { throw new UsageError((e as Error).message); }
      const path = flags.get('trace')![0];
      try { s.traceFd = openSync(path, 'w'); } catch (e) { throw new UsageError(`--trace: cannot open '${path}': ${(e as NodeJS.ErrnoException).code}`); }
      s.tracer = new Tracer(m.vmx, (lin, len) => s.target.readMemory(lin, len, 'linear'), (line) => s.traceLine(line), filter);
      s.target.tracer = s.tracer;
      s.target.install(); // the CPU hooks (without --gdb the CLI loop runs the machine itself)
    }
    return s;
  }

  get gdb(): boolean { return this.flags.has('gdb'); }

  runGdb(o: Omit<GdbSessionOptions, 'port' | 'wait'>): Promise<GdbSessionEnd> {
    return runGdbSession(this.target, { ...o, port: Number(this.flags.get('gdb')![0]), wait: this.flags.has('gdb-wait') });
  }

  private traceLine(line: string): void {
    this.traceBuf.push(line);
    this.traceLen += line.length + 1;
    if (this.traceLen >= 1 << 16) this.flushTrace();
  }
  private flushTrace(): void {
    if (this.traceFd >= 0 && this.traceBuf.length) writeSync(this.traceFd, this.traceBuf.join('\n') + '\n');
    this.traceBuf = []; this.traceLen = 0;
  }

  /** The run ended: finish the trace and print the --monitor commands' output. */
  atEnd(r: RunResult | null): void {
    this.tracer?.finish();
    this.flushTrace();
    for (const cmd of this.flags.get('monitor') ?? []) {
      process.stderr.write(`tsvisor: monitor ${cmd}${r ? ` (${r.end})` : ''}:\n${this.target.monitor(cmd)}\n`);
    }
  }

  close(): void {
    this.flushTrace();
    if (this.traceFd >= 0) { closeSync(this.traceFd); this.traceFd = -1; }
  }
}
