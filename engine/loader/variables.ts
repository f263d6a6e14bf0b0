/** `${VAR}` and `${VAR:-default}`, as in shells and Docker Compose; `$${` writes a literal `${`. */
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SubstitutionProblem {
  /** Index in the original string of the `${` that failed. */
  readonly index: number;
  readonly message: string;
}

/** A variable whose value came from the environment (not from a default written in the file). */
export interface UsedVariable {
  readonly name: string;
  readonly value: string;
}

export function substituteVariables(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  used?: UsedVariable[],
): { value: string; problems: SubstitutionProblem[] } {
  if (!value.includes('${')) return { value, problems: [] };
  const problems: SubstitutionProblem[] = [];
  const out = value.replace(REFERENCE, (match, body: string | undefined, index: number) => {
    if (body === undefined) return '${';
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      problems.push({ index, message: `bad variable reference "${match}": write \${NAME} or \${NAME:-default}` });
      return match;
    }
    const set = env[name];
    if (set !== undefined && set !== '') {
      used?.push({ name, value: set });
      return set;
    }
    if (sep >= 0) return body.slice(sep + 2);
    problems.push({ index, message: `environment variable ${name} is not set and has no default; set it or write \${${name}:-default}` });
    return match;
  });
  return { value: out, problems };
}

/**
 * Replaces, in a message, every value that came from an environment variable with `${NAME}`:
 * variables carry secrets (tokens, passwords), and messages end up in terminals, CI logs and log
 * collectors. A value is replaced where it stands alone (not inside a longer word), also as JSON
 * escapes it and as describeValue cuts a long one short.
 */
export function redactor(used: readonly UsedVariable[]): (text: string) => string {
  const forms = new Map<string, string>();
  for (const { name, value } of used) {
    const shown = '${' + name + '}';
    for (const form of [value, JSON.stringify(value).slice(1, -1), ...(value.length > SHOWN_MAX ? [shownPrefix(value)] : [])]) {
      if (!forms.has(form)) forms.set(form, shown);
    }
  }
  if (forms.size === 0) return (text) => text;
  // Longest first, so a value that contains another is replaced whole.
  const alternatives = [...forms.keys()].sort((a, b) => b.length - a.length).map(alone);
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => text.replace(pattern, (m) => forms.get(m)!);
}

/** describeValue shows strings longer than this cut short, ending in "...". */
export const SHOWN_MAX = 60;

/** How describeValue shows a long string: its first characters and "...". */
export function shownPrefix(value: string): string {
  return value.slice(0, SHOWN_MAX - 3) + '...';
}

function alone(form: string): string {
  const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `${/^\w/.test(form) ? '(?<!\\w)' : ''}${escaped}${/\w$/.test(form) ? '(?!\\w)' : ''}`;
}
