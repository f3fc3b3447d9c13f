// Run a guest image on a fresh machine and collect its serial output and how the run ended.
import { Machine, End } from '../../machine/machine.js';

export interface GuestRun { serial: string; end: End; status: number; message: string; machine: Machine }

export function runGuest(image: Uint8Array, opts: { memMiB?: number; limit?: number; cmdline?: string } = {}): GuestRun {
  let serial = '';
  const m = new Machine({ memBytes: (opts.memMiB ?? 64) * 1048576, onSerial: (b) => { serial += String.fromCharCode(b); } });
  m.loadKernel(image, { cmdline: opts.cmdline });
  const r = m.runToEnd(opts.limit ?? 500_000_000);
  return { serial, end: r.end, status: r.status, message: r.message, machine: m };
}
