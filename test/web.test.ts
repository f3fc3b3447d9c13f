// The browser front end (web/): builds it (scripts/build-web.mjs), serves it on 127.0.0.1 and
// drives Debian's headless Chromium with playwright-core. The page runs the same core as the CLI
// in a Web Worker, so for the same guest it must show the same thing: the serial output (byte for
// byte, and on the xterm.js screen), the exit status, the hypervisor's log, the end-of-run message
// with the triple-fault dump, the instruction count, and monitor/VMCS reports — each compared with a
// run of bin/tsvisor.mjs. Beyond that: the guests' own expectations (from their sources), a kernel
// given through the file input, keystrokes to COM1, Pause/Resume and Reset.
// Needs /usr/bin/chromium (scripts/setup.sh installs it; the test fails, not skips, without it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const root = new URL('../..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** window.tsvisor of web/main.ts. */
interface PageApi {
  serial(): string; screen(): string[]; state(): string; end(): { end: string; status: number; message: string } | null;
  insns(): number; log(): string; report(): string; guests(): string[]; runs(): number; replies(): number;
}
declare const tsvisor: PageApi;

let work = '';
let server: Server | null = null;
let ctx: BrowserContext | null = null;
let page: Page;
let base = '';

before(async () => {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: install Debian's chromium with 'bash scripts/setup.sh' (as root; CI does) or 'apt-get install -y chromium'`);
  }
  assert.ok(existsSync(join(root, 'build', 'guests', 'hello.bin')), 'build/guests is missing: run node scripts/build-guests.mjs');
  work = mkdtempSync(join(tmpdir(), 'tsvisor-web-'));
  const out = join(work, 'web');
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build-web.mjs'), '--out', out], { encoding: 'utf8' });
  assert.equal(b.status, 0, `scripts/build-web.mjs failed:\n${b.stdout}${b.stderr}`);
  server = staticServer(out);
  await new Promise<void>((res) => server!.listen(0, '127.0.0.1', res));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  ctx = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = ctx.pages()[0] ?? await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.waitForFunction(() => typeof tsvisor !== 'undefined' && tsvisor.guests().length > 0);
  assert.deepEqual(errors, []);
});

after(async () => {
  await ctx?.close();
  await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Static files of `dir` (the test's own server: the page needs nothing else). */
function staticServer(dir: string): Server {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };
  return createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
}

interface Cli { stdout: string; stderr: string; status: number | null }
function cli(kernel: string, args: string[], input = ''): Cli {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'tsvisor.mjs'), 'run', '--kernel', kernel, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

interface WebRun { serial: string; screen: string[]; end: { end: string; status: number; message: string }; insns: number; log: string; endPanel: string }

interface Choice { mem: number; mode: 'bare' | 'hv'; quirk?: boolean; hypapps?: string[] }

/** Set the form and boot; resolves when the run has ended. */
async function boot(c: Choice, pick: () => Promise<void>): Promise<void> {
  await pick();
  await page.fill('#mem', String(c.mem));
  await page.check(`input[name=mode][value=${c.mode}]`);
  if (c.mode === 'hv') {
    await page.setChecked('#quirk', c.quirk === true);
    for (const app of ['exit-stats', 'page-protect']) await page.setChecked(`input[name=hypapp][value=${app}]`, (c.hypapps ?? []).includes(app));
  }
  const runs = await page.evaluate(() => tsvisor.runs());
  await page.click('#boot');
  await page.waitForFunction((n) => tsvisor.runs() > n, runs);
}

async function ended(): Promise<WebRun> {
  await page.waitForFunction(() => tsvisor.state() === 'ended', undefined, { timeout: 60_000 });
  return await page.evaluate(() => ({
    serial: tsvisor.serial(), screen: tsvisor.screen(), end: tsvisor.end()!, insns: tsvisor.insns(), log: tsvisor.log(),
    endPanel: document.getElementById('end')!.textContent ?? '',
  }));
}

const pickGuest = (name: string) => async (): Promise<void> => {
  await page.check('input[name=source][value=menu]');
  await page.selectOption('#guest', `${name}.bin`);
};

/** The CLI's flags for the same choice. */
function cliFlags(c: Choice): string[] {
  return ['--mem', String(c.mem), ...(c.mode === 'bare' ? ['--no-hypervisor'] : []), ...(c.quirk ? ['--quirk', 'xmhf-cr4-vmxe-shadow'] : []),
    ...(c.hypapps ?? []).flatMap((a) => ['--hypapp', a])];
}

/** Run `guest` on the page and through the CLI; everything the two show must agree. */
async function sameAsCli(guest: string, c: Choice, monitor: string[] = []): Promise<{ web: WebRun; cli: Cli }> {
  await boot(c, pickGuest(guest));
  const web = await ended();
  const ref = cli(join(root, 'build', 'guests', `${guest}.bin`), [...cliFlags(c), '--monitor', 'stats', ...monitor.flatMap((m) => ['--monitor', m])]);
  assert.equal(web.serial, ref.stdout, `${guest}: the page's COM1 output differs from the CLI's`);
  const lines = ref.stdout.split('\n').map((l) => l.trimEnd());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  assert.deepEqual(web.screen, lines, `${guest}: the terminal shows other lines than the CLI printed`);
  assert.equal(web.end.status, ref.status, `${guest}: exit status`);
  // CLI stderr: the hypervisor's log, the end-of-run message, then the --monitor output.
  const prefix = `${web.log}${web.end.message}\n`;
  assert.equal(ref.stderr.slice(0, prefix.length), prefix, `${guest}: hypervisor log + end message differ from the CLI's stderr`);
  assert.match(ref.stderr, new RegExp(`instructions retired: ${web.insns} `), `${guest}: instruction count differs from the CLI's`);
  assert.equal(web.endPanel, `${web.end.message}\n(exit status ${web.end.status})`, 'the end panel shows the end message');
  return { web, cli: ref };
}

async function monitor(cmd: string): Promise<string> {
  const n = await page.evaluate(() => tsvisor.replies());
  await page.fill('#monitor', cmd);
  await page.press('#monitor', 'Enter');
  await page.waitForFunction((k) => tsvisor.replies() > k, n);
  return await page.evaluate(() => tsvisor.report());
}

async function button(id: string): Promise<string> {
  const n = await page.evaluate(() => tsvisor.replies());
  await page.click(`#${id}`);
  await page.waitForFunction((k) => tsvisor.replies() > k, n);
  return await page.evaluate(() => tsvisor.report());
}

/** The text the CLI printed for `--monitor CMD`. */
function cliMonitor(stderr: string, cmd: string): string {
  const at = stderr.indexOf(`tsvisor: monitor ${cmd} (`);
  assert.ok(at >= 0, `no --monitor ${cmd} output`);
  const body = stderr.slice(stderr.indexOf('\n', at) + 1);
  const next = body.indexOf('\ntsvisor: monitor ');
  return (next >= 0 ? body.slice(0, next) : body).replace(/\n$/, '');
}

test('web: the page and the core it bundles type-check without Node\'s types (web/tsconfig.json)', () => {
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'web', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc -p web/tsconfig.json:\n${r.stdout}${r.stderr}`);
});

test('web: the test-guest menu lists build/guests with their runner headers', async () => {
  const files = await page.evaluate(() => tsvisor.guests());
  assert.ok(files.includes('hello.bin') && files.includes('vmx-seed-pae.bin') && files.includes('vmx-pageprot.bin'), files.join(' '));
  // vmx-pageprot's header: `; run: hv` and `; hv-hypapps: page-protect` (guests/vmx-pageprot.asm).
  await page.selectOption('#guest', 'vmx-pageprot.bin');
  assert.equal(await page.isChecked('input[name=mode][value=hv]'), true);
  assert.equal(await page.isChecked('input[name=hypapp][value=page-protect]'), true);
});

test('web: hello bare and hypervised: the CLI\'s serial output, status, log, instruction count and disassembly', async () => {
  const bare = await sameAsCli('hello', { mem: 96, mode: 'bare' }, ['disas 0x100020 3']);
  // guests/hello.asm: the greeting, the vendor of our CPUID, RAM = Multiboot mem_upper/1024 + 1, debug-exit 0 → status 1.
  assert.equal(bare.web.serial, 'Hello from a tsvisor guest!\nCPU vendor: GenuineIntel\nRAM: 96 MiB\nok 1 - hello\n1..1\n# fail 0\n');
  assert.equal(bare.web.end.status, 1);
  assert.equal(bare.web.end.message, 'tsvisor: debug-exit: guest wrote to the debug-exit port (status 1)');
  // The page's disassembly is the CLI's; _start is 32 bytes into the image: `mov esp, 0x90000`.
  const dis = await monitor('disas 0x100020 3');
  assert.equal(dis, cliMonitor(bare.cli.stderr, 'disas 0x100020 3'));
  assert.match(dis, /mov esp, 0x90000/);
  const hv = await sameAsCli('hello', { mem: 96, mode: 'hv' });
  assert.equal(hv.web.serial, bare.web.serial, 'transparency: the same output bare and hypervised');
  assert.match(hv.web.log, /^tsvisor: hypervisor launched: .* at 0x6000000\n$/, 'the hypervisor\'s memory starts above 96 MiB of guest RAM');
});

test('web: vmx-seed-pae bare, hypervised, and hypervised with the seed\'s quirk (triple-fault dump, stats, VMCS)', async () => {
  const bare = await sameAsCli('vmx-seed-pae', { mem: 64, mode: 'bare' });
  assert.match(bare.web.serial, /^ok 1 - CR4 = 20H \(PAE\)/);
  assert.match(bare.web.serial, /1\.\.5\n# fail 0/);
  const hv = await sameAsCli('vmx-seed-pae', { mem: 64, mode: 'hv' });
  assert.equal(hv.web.serial, bare.web.serial);

  const q = await sameAsCli('vmx-seed-pae', { mem: 64, mode: 'hv', quirk: true, hypapps: ['exit-stats'] }, ['vmcs']);
  assert.equal(q.web.serial, '', 'the guest triple-faults before its first check');
  assert.equal(q.web.end.status, 6);
  assert.equal(q.web.end.end, 'triple-fault');
  // The seed's report and the dump, in the end panel: the MOV to CR4 exit (0x20 = CR4.PAE, guests/vmx-seed-pae.asm) then the triple fault.
  assert.match(q.web.endPanel, /Unhandled intercept: 0x00000002 \(TRIPLE_FAULT\)/);
  assert.match(q.web.endPanel, /CS:EIP =0x1f00:/);
  assert.match(q.web.endPanel, /CR_ACCESS +0x00000004 .* MOV to CR4 from EAX\n/);
  assert.match(q.web.log, /proposed=0x00000020/);
  // Stats: the exit-stats hypapp's report — one CR access (the shadow's VMXE bit differs from the write), one triple fault.
  const stats = await button('stats');
  assert.match(stats, /^VM exits: 2\n/);
  assert.match(stats, /CR_ACCESS +1\n/);
  assert.match(stats, /TRIPLE_FAULT +1/);
  assert.ok(q.web.log.endsWith(`${stats}\n`), 'the hypapp printed the same report to the log at shutdown');
  // VMCS: formatCurrentVmcs, identical to the CLI's --monitor vmcs.
  const vmcs = await button('vmcs');
  assert.equal(vmcs, cliMonitor(q.cli.stderr, 'vmcs'));
  assert.match(vmcs, /GUEST_CS_SELECTOR +0802 +0x1f00\n/);
});

test('web: a kernel from the file input, keystrokes to COM1, Pause/Resume (monitor, iced-x86, VMCS while paused), Reset', async () => {
  // An echo guest assembled here: prints a prompt, polls the UART (never halts: it keeps the machine
  // busy, so Pause has something to stop), echoes letters in upper case, exits with value 7 on 'q'.
  const asm = join(work, 'echo.asm'), bin = join(work, 'echo.bin');
  writeFileSync(asm, `bits 32
org 0x100000
mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000), mb, 0x100000, 0, 0, start
sse: db 0x0f, 0x58, 0xc1          ; at 0x100020: ADDPS xmm0, xmm1 (NP 0F 58 /r), never executed
start:
  mov esp, 0x90000
  mov esi, prompt
  call puts
poll:
  mov dx, 0x3fd
  in al, dx
  test al, 1                 ; LSR.DR
  jz poll
  mov dx, 0x3f8
  in al, dx
  cmp al, 'q'
  je quit
  cmp al, 'a'
  jb echo
  cmp al, 'z'
  ja echo
  sub al, 0x20
echo:
  out dx, al
  jmp poll
quit:
  mov esi, bye
  call puts
  mov al, 7
  out 0xf4, al
  hlt
puts:
  mov dx, 0x3f8
.n: lodsb
  test al, al
  jz .d
  out dx, al
  jmp .n
.d: ret
prompt: db 'type> ', 0
bye: db 10, 'bye', 10, 0
`);
  const nasm = spawnSync('nasm', ['-f', 'bin', '-o', bin, asm], { encoding: 'utf8' });
  assert.equal(nasm.status, 0, `nasm: ${nasm.stderr}`);

  const choice: Choice = { mem: 32, mode: 'hv' };
  const fromFile = async (): Promise<void> => { await page.setInputFiles('#kernel-file', bin); await page.check('input[name=source][value=file]'); };
  await boot(choice, fromFile);
  await page.waitForFunction(() => tsvisor.serial() === 'type> ');
  await page.click('#terminal');
  await page.keyboard.type('hi ');
  await page.waitForFunction(() => tsvisor.serial() === 'type> HI ');

  // Pause: the machine stops between slices; its instruction count stands still; VMCS and monitor answer.
  await page.click('#pause');
  await page.waitForFunction(() => tsvisor.state() === 'paused');
  assert.equal(await page.textContent('#pause'), 'Resume');
  const retired = async (): Promise<string> => /instructions retired: (\d+)/.exec(await monitor('stats'))![1];
  const n1 = await retired();
  await page.click('#terminal'); // the monitor's input field had the focus
  await page.keyboard.type('tsvisor!');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await retired(), n1, 'no instruction runs while paused');
  assert.equal(await page.evaluate(() => tsvisor.serial()), 'type> HI ', 'typed keys wait in the UART while paused');
  // The worker's disassembler is iced-x86 (loadIcedFromSources): the CPU's own decoder knows no SSE and would say (bad).
  assert.match(await monitor('disas 0x100020 1'), /^ +00100020  0f58c1 +addps xmm0, xmm1$/);
  assert.match(await button('vmcs'), /^VMCS at 0x[0-9a-f]+ \(revision 0x[0-9a-f]+, launched\)\nGuest-state area:\n/);
  await page.click('#pause');
  await page.waitForFunction(() => tsvisor.serial() === 'type> HI TSVISOR!');
  await page.click('#terminal');
  await page.keyboard.type('q');
  const web = await ended();
  assert.equal(web.end.status, 15, 'debug-exit value 7 → status (7 << 1) | 1');
  // The CLI with the same keys on stdin prints the same bytes.
  const ref = cli(bin, cliFlags(choice), 'hi tsvisor!q');
  assert.equal(web.serial, ref.stdout);
  assert.equal(web.serial, 'type> HI TSVISOR!\nbye\n');
  assert.equal(ref.status, 15);

  // Reset: the same kernel boots again from scratch in a new worker.
  const runs = await page.evaluate(() => tsvisor.runs());
  await page.click('#reset');
  await page.waitForFunction((n) => tsvisor.runs() > n && tsvisor.serial() === 'type> ', runs);
  await page.click('#terminal');
  await page.keyboard.type('q');
  const again = await ended();
  assert.equal(again.serial, 'type> \nbye\n');
  assert.equal(again.end.status, 15);
});
