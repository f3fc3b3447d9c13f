// Run a guest image on a fresh machine — bare, or under the hypervisor — and collect its serial
// output and how the run ended.
import { Machine, End } from '../../machine/machine.js';
import { Hypervisor, HOST_MEM_BYTES, type HypervisorOptions } from '../../hypervisor/hypervisor.js';

export interface GuestRun { serial: string; end: End; status: number; message: string; machine: Machine; hv: Hypervisor | null; hvLog: string[] }

export interface GuestRunOptions {
  memMiB?: number; limit?: number; cmdline?: string;
  /** Run under the hypervisor (with these options; `true` = defaults). */
  hypervisor?: boolean | HypervisorOptions;
}

export function runGuest(image: Uint8Array, opts: GuestRunOptions = {}): GuestRun {
  let serial = '';
  const hvLog: string[] = [];
  const hvOpts: HypervisorOptions | null = opts.hypervisor === undefined || opts.hypervisor === false ? null
    : opts.hypervisor === true ? {} : opts.hypervisor;
  const m = new Machine({
    memBytes: (opts.memMiB ?? 64) * 1048576, onSerial: (b) => { serial += String.fromCharCode(b); },
    hostMemBytes: hvOpts !== null ? HOST_MEM_BYTES : 0,
  });
  m.loadKernel(image, { cmdline: opts.cmdline });
  let hv: Hypervisor | null = null;
  if (hvOpts !== null) {
    hv = new Hypervisor(m.vmx, m.mem, { log: (l) => hvLog.push(l), ...hvOpts });
    hv.launch();
  }
  const r = m.runToEnd(opts.limit ?? 500_000_000);
  if (hv !== null) hv.shutdown(r.end);
  return { serial, end: r.end, status: r.status, message: r.message, machine: m, hv, hvLog };
}
