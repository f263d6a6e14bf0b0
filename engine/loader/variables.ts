/** `${VAR}` and `${VAR:-default}`, as in shells and Docker Compose; `$${` writes a literal `${`. */
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface SubstitutionProblem {
  /** Index in the original string of the `${` that failed. */
  readonly index: number;
  readonly message: string;
}

export function substituteVariables(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
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
    if (set !== undefined && set !== '') return set;
    if (sep >= 0) return body.slice(sep + 2);
    problems.push({ index, message: `environment variable ${name} is not set and has no default; set it or write \${${name}:-default}` });
    return match;
  });
  return { value: out, problems };
}
