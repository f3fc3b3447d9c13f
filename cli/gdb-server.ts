// The GDB stub's TCP listener (127.0.0.1 only) and the run loop used while a debugger may attach:
// the machine runs in short slices so GDB's Ctrl-C and packets are handled between them (stops are
// at instruction boundaries). The protocol itself is debug/gdb-stub.ts (browser-safe).

import { createServer, type Socket } from 'node:net';
import type { RunResult } from '../machine/machine.js';
import { GdbStub } from '../debug/gdb-stub.js';
import type { MachineTarget } from '../debug/machine-target.js';

export interface GdbSessionOptions {
  port: number;
  /** Stop before the first instruction and wait for GDB (--gdb-wait). */
  wait: boolean;
  /** Called after every slice (flush the serial output). */
  flush: () => void;
  /** The user asked to quit (Ctrl-A x). */
  quit: () => boolean;
  /** The run ended with a failure: print its report (once), before waiting for a debugger. */
  onFailure: (r: RunResult) => void;
  log: (line: string) => void;
}

/** Outcome: the machine's result, or 'quit' (Ctrl-A x, or GDB killed the target). */
export type GdbSessionEnd = { result: RunResult } | { quit: string };

const SLICE = 1_000_000;

export function isFailure(r: RunResult): boolean {
  return r.end === 'triple-fault' || r.end === 'unsupported' || r.end === 'halted' || r.end === 'instruction-limit' || r.end === 'hypervisor-halt';
}

export async function runGdbSession(target: MachineTarget, o: GdbSessionOptions): Promise<GdbSessionEnd> {
  let stub: GdbStub | null = null;
  let sock: Socket | null = null;
  let attachedOnce = false;
  let killed = false;
  let wake: (() => void) | null = null;
  const poke = (): void => { const w = wake; wake = null; w?.(); };
  const sleep = (ms: number): Promise<void> => new Promise((res) => {
    const t = setTimeout(() => { wake = null; res(); }, ms);
    wake = () => { clearTimeout(t); res(); };
  });

  const server = createServer((s) => {
    if (sock !== null) { s.destroy(); return; } // one debugger at a time
    sock = s;
    attachedOnce = true;
    s.setNoDelay(true);
    stub = new GdbStub(target, {
      send: (d) => { s.write(Buffer.from(d, 'latin1')); },
      onKill: () => { killed = true; target.kill(); s.end(); poke(); },
      onDetach: () => { if (target.ended === null) target.resume(false); s.end(); poke(); },
    });
    // GDB expects a stopped target when it connects.
    if (target.running) target.interrupt();
    o.log(`gdb attached from ${s.remoteAddress}:${s.remotePort}`);
    s.on('data', (d) => { stub?.receive(d.toString('latin1')); poke(); });
    s.on('error', () => { /* reset by peer: handled by close */ });
    s.on('close', () => {
      sock = null; stub = null;
      // Without a debugger the machine runs on (breakpoints gone), as after `detach`.
      target.clearPoints();
      if (!killed && target.ended === null && !target.running) target.resume(false);
      poke();
    });
    poke();
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(o.port, '127.0.0.1', () => { server.off('error', rej); res(); });
  });
  const port = (server.address() as { port: number }).port; // --gdb 0: any free port
  o.log(o.wait ? `waiting for gdb on 127.0.0.1:${port} (in gdb: target remote :${port})` : `gdb stub listening on 127.0.0.1:${port}`);
  if (!o.wait) target.resume(false);

  let failureShown = false;
  try {
    for (;;) {
      const ended = target.ended;
      if (killed) return ended !== null ? { result: ended } : { quit: 'killed by gdb' };
      if (o.quit()) return { quit: 'quit (Ctrl-A x)' };
      if (ended !== null && !target.running) {
        if (isFailure(ended) && !failureShown) {
          failureShown = true;
          o.onFailure(ended);
          if (stub === null) o.log(`the machine stopped; waiting for gdb on 127.0.0.1:${port} to inspect it (target remote :${port}); Ctrl-C quits`);
        }
        // A normal end without a debugger ends the run; otherwise wait until the debugger leaves
        // (after a failure, until one has come and gone).
        if (stub === null && (!isFailure(ended) || attachedOnce)) return { result: ended };
      }
      if (target.running) {
        const ev = target.runFor(SLICE);
        o.flush();
        if (ev !== null) {
          const st = stub as GdbStub | null; // assigned by the connection callback
          if (st !== null && st.awaitingStop) st.reportStop(ev);
          continue;
        }
        if (target.idle) await sleep(5); else await new Promise((res) => setImmediate(res));
      } else {
        await sleep(1000);
      }
    }
  } finally {
    server.close();
    (sock as Socket | null)?.destroy();
  }
}
