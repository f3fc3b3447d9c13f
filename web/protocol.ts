// Messages between the page (web/main.ts) and the machine's worker (web/worker.ts). Plain data
// only (structured clone); byte arrays are transferred.

/** What to boot: the same choices as `tsvisor run` (cli/main.ts). */
export interface BootConfig {
  /** Shown in the status line. */
  name: string;
  kernel: Uint8Array;
  initrd: Uint8Array | null;
  cmdline: string;
  memMiB: number;
  hypervised: boolean;
  kvm: boolean;
  hypapps: string[];
  quirks: string[];
}

export type ToWorker =
  | { type: 'boot'; config: BootConfig }
  | { type: 'input'; bytes: Uint8Array }
  | { type: 'pause' }
  | { type: 'resume' }
  /** stats: the exit-stats hypapp's report; vmcs: formatCurrentVmcs; monitor: a monitor command line (debug/monitor.ts). */
  | { type: 'query'; what: 'stats' | 'vmcs' | 'monitor'; arg?: string };

export type RunState = 'loading' | 'running' | 'idle' | 'paused' | 'ended';

export type FromWorker =
  | { type: 'serial'; bytes: Uint8Array }
  /** A line of the hypervisor's console (--hv-log). */
  | { type: 'log'; line: string }
  | { type: 'state'; state: RunState; insns: number }
  /** The end-of-run message, as the CLI prints it on stderr: `tsvisor: END: MESSAGE`, and the exit status. */
  | { type: 'end'; end: string; status: number; message: string; insns: number }
  /** The image could not be loaded (CLI status 4) or the options are inconsistent (status 2). */
  | { type: 'error'; status: number; message: string }
  | { type: 'reply'; what: string; text: string };

/** Test guests copied into the web build (build/web/guests/guests.json), with the runner's header options (guests/README.md). */
export interface GuestEntry {
  name: string;
  file: string;
  /** The first line of the guest's header comment. */
  title: string;
  memMiB: number;
  /** 'both', 'hv' or 'bare' (`; run:`). */
  run: string;
  kvm: boolean;
  hypapps: string[];
  /** `; hv-quirk:` — a quirk the guest is meant to be run with (as a second run). */
  quirk: string | null;
}
