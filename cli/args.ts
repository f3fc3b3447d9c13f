// Command-line parsing for `tsvisor`: a small declarative flag table, so `--help` and validation
// come from one place. Errors are thrown as UsageError (printed as one line, exit status 2).

export class UsageError extends Error {}

export interface FlagSpec {
  name: string;           // without leading dashes
  arg?: string;           // placeholder if the flag takes a value
  help: string;
  repeat?: boolean;
}

export type ParsedFlags = Map<string, string[]>;

export function parseFlags(argv: string[], specs: FlagSpec[], positionalOk = false): { flags: ParsedFlags; positional: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: ParsedFlags = new Map();
  const positional: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (!a.startsWith('--')) {
      if (!positionalOk) throw new UsageError(`unexpected argument '${a}'`);
      positional.push(a);
      continue;
    }
    let name = a.slice(2), value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag '--${name}' (see --help)`);
    if (spec.arg) {
      if (value === undefined) {
        if (k + 1 >= argv.length) throw new UsageError(`flag --${name} needs a value (${spec.arg})`);
        value = argv[++k];
      }
    } else if (value !== undefined) {
      throw new UsageError(`flag --${name} takes no value`);
    }
    const list = flags.get(name) ?? [];
    if (list.length > 0 && !spec.repeat) throw new UsageError(`flag --${name} given twice`);
    list.push(value ?? '');
    flags.set(name, list);
  }
  return { flags, positional };
}

export function helpText(usage: string, specs: FlagSpec[], footer = ''): string {
  const rows = specs.map((s) => [`--${s.name}${s.arg ? ' ' + s.arg : ''}`, s.help]);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return `${usage}\n\nOptions:\n${rows.map(([a, h]) => `  ${a.padEnd(w)}${h}`).join('\n')}\n${footer ? '\n' + footer + '\n' : ''}`;
}

/** Parse a positive integer with optional k/M/G suffix (decimal or 0x hex). */
export function parseCount(flag: string, v: string): number {
  const m = /^(0x[0-9a-f]+|\d+)([kmg]?)$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${flag}: '${v}' is not a number`);
  const base = m[1].startsWith('0x') || m[1].startsWith('0X') ? parseInt(m[1], 16) : parseInt(m[1], 10);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = base * mult;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag}: '${v}' must be a positive integer`);
  return n;
}
