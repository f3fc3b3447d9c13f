// The browser front end's page: the choices of `tsvisor run` as a form, COM1 in an xterm.js
// terminal (keystrokes go to the guest's COM1, as the CLI's stdin), and the side panels (end of
// run, hypervisor log, reports). The machine runs in a Web Worker (web/worker.ts); one worker per
// boot, so Reset is a new worker with the same configuration.

import { Terminal } from '@xterm/xterm';
import { RECOMMENDED_CMDLINE } from '../machine/boot/linux.js';
import type { BootConfig, FromWorker, GuestEntry, RunState, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} is missing`);
  return e as T;
};
const form = $<HTMLFormElement>('config');
const guestSel = $<HTMLSelectElement>('guest');
const guestTitle = $('guest-title');
const kernelFile = $<HTMLInputElement>('kernel-file');
const initrdFile = $<HTMLInputElement>('initrd-file');
const cmdline = $<HTMLInputElement>('cmdline');
const mem = $<HTMLInputElement>('mem');
const kvm = $<HTMLInputElement>('kvm');
const quirk = $<HTMLInputElement>('quirk');
const hvOptions = $('hv-options');
const bootBtn = $<HTMLButtonElement>('boot');
const pauseBtn = $<HTMLButtonElement>('pause');
const resetBtn = $<HTMLButtonElement>('reset');
const statsBtn = $<HTMLButtonElement>('stats');
const vmcsBtn = $<HTMLButtonElement>('vmcs');
const statusLine = $('status');
const endPanel = $('end');
const logPanel = $('hvlog');
const reportPanel = $('report');
const reportWhat = $('report-what');
const monitorForm = $<HTMLFormElement>('monitor-form');
const monitorInput = $<HTMLInputElement>('monitor');

const term = new Terminal({ convertEol: true, cols: 80, rows: 25, scrollback: 10000, fontSize: 14, cursorBlink: true });
term.open($('terminal'));

let guests: GuestEntry[] = [];
let worker: Worker | null = null;
let lastConfig: BootConfig | null = null;
let runState: RunState | 'none' = 'none';
let insns = 0;
let rate = { t: 0, insns: 0, mips: 0 };
/** Everything the guest wrote to COM1 in this run (tests read it through window.tsvisor). */
let serialChunks: Uint8Array[] = [];
let endInfo: { end: string; status: number; message: string } | null = null;
/** Boots and replies so far (tests wait for them to change). */
let runs = 0, replies = 0;

const encoder = new TextEncoder();
term.onData((s) => {
  if (worker !== null && runState !== 'ended') send({ type: 'input', bytes: encoder.encode(s) });
});

function send(msg: ToWorker, transfer: Transferable[] = []): void { worker?.postMessage(msg, transfer); }

function radio(name: string): string {
  return (form.querySelector(`input[name=${name}]:checked`) as HTMLInputElement).value;
}
function setRadio(name: string, value: string): void {
  (form.querySelector(`input[name=${name}][value="${value}"]`) as HTMLInputElement).checked = true;
}
const hypappBoxes = (): HTMLInputElement[] => [...form.querySelectorAll<HTMLInputElement>('input[name=hypapp]')];

function syncForm(): void {
  const hv = radio('mode') === 'hv';
  hvOptions.classList.toggle('disabled', !hv);
  for (const b of [kvm, quirk, ...hypappBoxes()]) b.disabled = !hv;
}

/** Choosing a test guest applies its runner header (guests/README.md): RAM, how it runs, KVM, hypapps. */
function applyGuest(): void {
  const g = guests.find((x) => x.file === guestSel.value);
  if (!g) return;
  setRadio('source', 'menu');
  guestTitle.textContent = g.title + (g.quirk ? ` (try it with the quirk ${g.quirk} too)` : '');
  mem.value = String(g.memMiB);
  if (g.run === 'hv') setRadio('mode', 'hv');
  if (g.run === 'bare') setRadio('mode', 'bare');
  kvm.checked = g.kvm;
  for (const b of hypappBoxes()) b.checked = g.hypapps.includes(b.value);
  quirk.checked = false;
  syncForm();
}

async function loadGuestList(): Promise<void> {
  try {
    const r = await fetch('guests/guests.json');
    guests = r.ok ? ((await r.json()) as GuestEntry[]) : [];
  } catch { guests = []; }
  guestSel.replaceChildren(...guests.map((g) => new Option(g.name, g.file)));
  if (guests.length === 0) guestSel.append(new Option('(no test guests in this build)', ''));
  const hello = guests.find((g) => g.name === 'hello');
  if (hello) guestSel.value = hello.file;
  applyGuest();
}

async function readConfig(): Promise<BootConfig> {
  const hv = radio('mode') === 'hv';
  let name: string, kernel: Uint8Array, initrd: Uint8Array | null = null;
  if (radio('source') === 'menu') {
    const g = guests.find((x) => x.file === guestSel.value);
    if (!g) throw new Error('no test guest selected');
    const r = await fetch(`guests/${g.file}`);
    if (!r.ok) throw new Error(`guests/${g.file}: HTTP ${r.status}`);
    name = g.file; kernel = new Uint8Array(await r.arrayBuffer());
  } else {
    const f = kernelFile.files?.[0];
    if (!f) throw new Error('choose a kernel file (or a test guest)');
    name = f.name; kernel = new Uint8Array(await f.arrayBuffer());
    const i = initrdFile.files?.[0];
    if (i) initrd = new Uint8Array(await i.arrayBuffer());
  }
  return {
    name, kernel, initrd, cmdline: cmdline.value, memMiB: Number(mem.value), hypervised: hv,
    kvm: hv && kvm.checked, hypapps: hv ? hypappBoxes().filter((b) => b.checked).map((b) => b.value) : [],
    quirks: hv && quirk.checked ? ['xmhf-cr4-vmxe-shadow'] : [],
  };
}

function showStatus(): void {
  const what = lastConfig ? `${lastConfig.name}, ${lastConfig.memMiB} MiB, ${lastConfig.hypervised ? 'hypervised' : 'bare'}` : '';
  const mips = runState === 'running' && rate.mips > 0 ? `, ${rate.mips.toFixed(1)} MIPS` : '';
  const st = runState === 'ended' && endInfo ? `ended (exit status ${endInfo.status})` : runState === 'idle' ? 'idle (waiting for input)' : runState;
  statusLine.textContent = runState === 'none' ? 'no guest running' : `${st}\n${what}\n${insns.toLocaleString('en')} instructions${mips}`;
  pauseBtn.disabled = runState === 'none' || runState === 'ended' || runState === 'loading';
  pauseBtn.textContent = runState === 'paused' ? 'Resume' : 'Pause';
  resetBtn.disabled = lastConfig === null;
  const inspect = runState === 'paused' || runState === 'ended' || runState === 'idle';
  statsBtn.disabled = vmcsBtn.disabled = monitorInput.disabled = !inspect || worker === null || endInfo?.end === 'error';
}

function onMessage(w: Worker, msg: FromWorker): void {
  if (w !== worker) return; // a message from a worker already replaced by Reset
  switch (msg.type) {
    case 'serial': serialChunks.push(msg.bytes); term.write(msg.bytes); return;
    case 'log': logPanel.textContent += msg.line + '\n'; return;
    case 'state': {
      const now = performance.now();
      if (rate.t > 0 && now > rate.t) rate.mips = (msg.insns - rate.insns) / (now - rate.t) / 1000;
      rate = { t: now, insns: msg.insns, mips: rate.mips };
      runState = msg.state; insns = msg.insns; showStatus(); return;
    }
    case 'end':
      endInfo = { end: msg.end, status: msg.status, message: msg.message };
      insns = msg.insns;
      endPanel.textContent = `${msg.message}\n(exit status ${msg.status})`;
      endPanel.classList.toggle('failure', !(msg.end === 'debug-exit' || msg.end === 'power-off' || msg.end === 'reset'));
      return;
    case 'error':
      endInfo = { end: 'error', status: msg.status, message: msg.message };
      endPanel.textContent = `${msg.message}\n(exit status ${msg.status})`;
      endPanel.classList.add('failure');
      return;
    case 'reply':
      reportWhat.textContent = msg.what === 'monitor' ? '(monitor)' : `(${msg.what})`;
      reportPanel.textContent = msg.text;
      replies++;
      return;
  }
}

function start(config: BootConfig): void {
  worker?.terminate();
  lastConfig = config;
  runs++;
  serialChunks = []; endInfo = null; insns = 0; rate = { t: 0, insns: 0, mips: 0 };
  term.reset();
  endPanel.textContent = ''; endPanel.classList.remove('failure');
  logPanel.textContent = ''; reportPanel.textContent = ''; reportWhat.textContent = '';
  const w = new Worker('worker.js', { type: 'module' });
  worker = w;
  w.onmessage = (e: MessageEvent<FromWorker>) => onMessage(w, e.data);
  w.onerror = (e) => { onMessage(w, { type: 'error', status: 70, message: `tsvisor: worker error: ${e.message}` }); onMessage(w, { type: 'state', state: 'ended', insns }); };
  // The worker gets its own copies: Reset boots the same bytes again.
  const copy: BootConfig = { ...config, kernel: config.kernel.slice(), initrd: config.initrd ? config.initrd.slice() : null };
  w.postMessage({ type: 'boot', config: copy } satisfies ToWorker, [copy.kernel.buffer, ...(copy.initrd ? [copy.initrd.buffer] : [])]);
  runState = 'loading';
  showStatus();
  term.focus();
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  readConfig().then(start, (err: Error) => { endPanel.textContent = `tsvisor: ${err.message}`; endPanel.classList.add('failure'); });
});
form.addEventListener('change', (e) => {
  if (e.target === guestSel) applyGuest();
  else if (e.target === kernelFile) setRadio('source', 'file');
  syncForm();
});
$('linux-cmdline').addEventListener('click', (e) => { e.preventDefault(); cmdline.value = RECOMMENDED_CMDLINE; });
resetBtn.addEventListener('click', () => { if (lastConfig) start(lastConfig); });
pauseBtn.addEventListener('click', () => send({ type: runState === 'paused' ? 'resume' : 'pause' }));
statsBtn.addEventListener('click', () => send({ type: 'query', what: 'stats' }));
vmcsBtn.addEventListener('click', () => send({ type: 'query', what: 'vmcs' }));
monitorForm.addEventListener('submit', (e) => {
  e.preventDefault();
  send({ type: 'query', what: 'monitor', arg: monitorInput.value });
});

/** For tests and the console: what the page shows, as text. */
const api = {
  /** COM1 output of the current run, decoded as UTF-8. */
  serial: (): string => new TextDecoder().decode(concat(serialChunks)),
  /** The terminal's lines as displayed (trailing blanks trimmed, trailing empty lines dropped). */
  screen: (): string[] => {
    const b = term.buffer.active, lines: string[] = [];
    for (let y = 0; y < b.length; y++) lines.push(b.getLine(y)?.translateToString(true) ?? '');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines;
  },
  state: (): string => runState,
  end: () => endInfo,
  insns: (): number => insns,
  log: (): string => logPanel.textContent ?? '',
  report: (): string => reportPanel.textContent ?? '',
  guests: (): string[] => guests.map((g) => g.file),
  runs: (): number => runs,
  replies: (): number => replies,
};
(window as unknown as { tsvisor: typeof api }).tsvisor = api;

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

syncForm();
showStatus();
void loadGuestList();
