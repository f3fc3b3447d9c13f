// The machine's Web Worker: boots a guest as `tsvisor run` does (cli/main.ts) and runs it in
// slices, posting the guest's COM1 bytes, the hypervisor's console and the end of the run to the
// page (web/main.ts), so the page stays responsive however long the guest computes. Keystrokes come
// back as 'input' and go to COM1. Between slices it answers queries (exit statistics, the VMCS,
// monitor commands) and honours pause/resume. Same core as the CLI, so the same serial output.

import { Machine, EXIT_STATUS, type RunResult } from '../machine/machine.js';
import { BootError, isMultiboot } from '../machine/boot/multiboot.js';
import { isLinuxImage } from '../machine/boot/linux.js';
import { Hypervisor, HOST_MEM_BYTES, QUIRKS, type Quirk } from '../hypervisor/hypervisor.js';
import type { HypApp } from '../hypervisor/hypapp.js';
import { ExitStats } from '../hypervisor/hypapps/exit-stats.js';
import { PageProtect } from '../hypervisor/hypapps/page-protect.js';
import { icedLoaded, loadIcedFromSources } from '../debug/disasm.js';
import { formatCurrentVmcs } from '../debug/vmcs-dump.js';
import { MachineTarget } from '../debug/machine-target.js';
import { runMonitor } from '../debug/monitor.js';
import type { BootConfig, FromWorker, RunState, ToWorker } from './protocol.js';

/** The worker's global scope, as far as this file uses it (the project's lib is DOM, not WebWorker). */
interface WorkerScope {
  postMessage(msg: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  location: { href: string };
}
const scope = self as unknown as WorkerScope;
const post = (msg: FromWorker, transfer?: Transferable[]): void => scope.postMessage(msg, transfer);

/** Instructions per runSlice call, and wall time of work between two looks at the message queue. */
const SLICE = 1_000_000;
const CHUNK_MS = 30;

let m: Machine | null = null;
let hv: Hypervisor | null = null;
let stats: ExitStats | null = null;
let target: MachineTarget | null = null;
let paused = false;
let running = false;
/** A JavaScript exception escaped the core: the machine is not run again. */
let crashed = false;
let wake: (() => void) | null = null;
const out: number[] = [];

function flush(): void {
  if (out.length === 0) return;
  const bytes = Uint8Array.from(out);
  out.length = 0;
  post({ type: 'serial', bytes }, [bytes.buffer]);
}

function state(s: RunState): void { post({ type: 'state', state: s, insns: m ? m.clock.insns : 0 }); }

/** The disassembler for dumps (as the CLI loads it before running): the package's glue and wasm, served beside the worker. */
async function loadDisassembler(): Promise<void> {
  if (icedLoaded()) return;
  try {
    const base = scope.location.href;
    const [glue, wasm] = await Promise.all([
      fetch(new URL('iced/iced_x86.js', base)).then((r) => { if (!r.ok) throw new Error(`iced_x86.js: HTTP ${r.status}`); return r.text(); }),
      fetch(new URL('iced/iced_x86_bg.wasm', base)).then((r) => { if (!r.ok) throw new Error(`iced_x86_bg.wasm: HTTP ${r.status}`); return r.arrayBuffer(); }),
    ]);
    await loadIcedFromSources(glue, new Uint8Array(wasm));
  } catch (e) {
    // Dumps fall back to the project's own decoder (debug/disasm.ts).
    post({ type: 'log', line: `tsvisor: iced-x86 not loaded (${(e as Error).message}): disassembly by the built-in decoder` });
  }
}

class InputError extends Error {
  constructor(message: string, readonly status: number) { super(message); }
}

/** Create and load the machine; start the hypervisor. Mirrors cli/main.ts runCommand. */
async function boot(c: BootConfig): Promise<void> {
  if (!Number.isInteger(c.memMiB) || c.memMiB > 3072 || c.memMiB < 2) throw new InputError(`RAM: ${c.memMiB} MiB is out of range (2..3072)`, EXIT_STATUS.usage);
  for (const q of c.quirks) if (!(q in QUIRKS)) throw new InputError(`unknown quirk '${q}'`, EXIT_STATUS.usage);
  const makers: Record<string, (log: (l: string) => void) => HypApp> = {
    'exit-stats': (log) => (stats = new ExitStats(log)),
    'page-protect': () => new PageProtect(),
  };
  for (const a of c.hypapps) if (!(a in makers)) throw new InputError(`unknown hypapp '${a}'`, EXIT_STATUS.usage);
  if (!c.hypervised && (c.hypapps.length || c.quirks.length || c.kvm)) throw new InputError('hypapps, KVM and quirks need the hypervisor', EXIT_STATUS.usage);

  const machine = new Machine({
    memBytes: c.memMiB * 1048576, onSerial: (b) => { out.push(b); if (out.length >= 4096) flush(); },
    stopOnUnimplemented: true, hostMemBytes: c.hypervised ? HOST_MEM_BYTES : 0,
  });
  try {
    if (isLinuxImage(c.kernel)) machine.loadLinux(c.kernel, { cmdline: c.cmdline, initrd: c.initrd });
    else if (!isMultiboot(c.kernel)) throw new BootError('unknown kernel format: neither a Multiboot v1 image (no header in the first 8 KiB) nor a Linux bzImage (no "HdrS" setup header at 0x202)');
    else if (c.initrd) throw new BootError('an initrd is only supported with a Linux bzImage kernel');
    else machine.loadKernel(c.kernel, { cmdline: c.cmdline });
  } catch (e) {
    if (e instanceof BootError || e instanceof RangeError) throw new InputError(`${c.name}: ${e.message}`, EXIT_STATUS.badInput);
    throw e;
  }
  m = machine;
  await loadDisassembler();
  const log = (line: string): void => post({ type: 'log', line });
  if (c.hypervised) {
    hv = new Hypervisor(machine.vmx, machine.mem, { log, kvm: c.kvm, quirks: c.quirks as Quirk[], hypapps: c.hypapps.map((a) => makers[a](log)) });
    hv.launch();
  }
  target = new MachineTarget(machine);
}

function finish(r: RunResult): void {
  flush();
  post({ type: 'end', end: r.end, status: r.status, message: `tsvisor: ${r.end}: ${r.message}`, insns: m!.clock.insns });
  hv?.shutdown(r.end);
  state('ended');
}

/** Let the message queue run (a task, not a clamped timer). */
function yieldToEvents(): Promise<void> {
  return new Promise((res) => { const ch = new MessageChannel(); ch.port1.onmessage = () => res(); ch.port2.postMessage(null); });
}

/** Run until paused, ended, or idle: slices of SLICE instructions, about CHUNK_MS of work between looks at the queue. */
async function loop(): Promise<void> {
  if (running || m === null) return;
  running = true;
  try {
    state('running');
    let wasIdle = false, lastProgress = performance.now();
    while (!paused && !crashed && m.result === null) {
      const t0 = performance.now();
      let r: RunResult | null = null;
      do r = m.runSlice(SLICE); while (r === null && !m.idle && performance.now() - t0 < CHUNK_MS);
      flush();
      if (r) { finish(r); return; }
      if (m.idle) {
        // Only input (or timers that cannot wake the CPU) left: as the CLI, look again in 5 ms or at the next keystroke.
        if (!wasIdle) state('idle');
        wasIdle = true;
        await new Promise<void>((res) => { const t = setTimeout(() => { wake = null; res(); }, 5); wake = () => { clearTimeout(t); wake = null; res(); }; });
      } else {
        // Progress for the status line (instructions, MIPS) about 4 times a second.
        if (wasIdle || t0 - lastProgress > 250) { state('running'); lastProgress = t0; }
        wasIdle = false;
        await yieldToEvents();
      }
    }
    if (paused && !crashed && m.result === null) state('paused');
  } catch (e) {
    // A JavaScript exception out of the core is a bug (the CLI would die with a stack trace; status 70).
    flush();
    post({ type: 'end', end: 'internal-error', status: EXIT_STATUS.internal, message: `tsvisor: internal error: ${(e as Error).stack ?? e}`, insns: m.clock.insns });
    crashed = true;
    state('ended');
  } finally {
    running = false;
  }
}

function answer(what: string, arg: string | undefined): string {
  if (m === null || target === null) return 'no machine (boot a guest first)';
  if (what === 'vmcs') return formatCurrentVmcs(m.vmx);
  if (what === 'stats') {
    if (stats !== null) return stats.report();
    const why = hv === null ? 'the guest runs bare (no VM exits)' : 'the exit-stats hypapp is not loaded (tick it and boot again)';
    return `${why}; the monitor's stats:\n${runMonitor(target, 'stats')}`;
  }
  return runMonitor(target, arg ?? 'help');
}

scope.onmessage = (e: MessageEvent<ToWorker>): void => {
  const msg = e.data;
  switch (msg.type) {
    case 'boot':
      if (m !== null) { post({ type: 'error', status: EXIT_STATUS.usage, message: 'this worker already runs a machine' }); return; }
      state('loading');
      boot(msg.config).then(() => loop(), (err: unknown) => {
        const status = err instanceof InputError ? err.status : EXIT_STATUS.internal;
        post({ type: 'error', status, message: `tsvisor: ${(err as Error).message}` });
        m = null;
        state('ended');
      });
      return;
    case 'input':
      if (m === null) return;
      for (const b of msg.bytes) m.uart.receive(b);
      wake?.();
      return;
    case 'pause':
      paused = true;
      if (!running && m !== null && !crashed && m.result === null) state('paused');
      return;
    case 'resume':
      paused = false;
      void loop();
      return;
    case 'query':
      post({ type: 'reply', what: msg.what, text: answer(msg.what, msg.arg) });
      return;
  }
};
