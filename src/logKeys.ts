/**
 * One key once per log line. A pino line is the concatenation of pino's own keys (`level`, `time`, `pid`,
 * `hostname`), the bindings of every ancestor logger, the logged object and `msg`: nothing stops two of them from
 * carrying the same name, and a JSON reader then keeps one of the two values (`JSON.parse` and `jq` keep the last,
 * RFC 8259 §4 leaves it undefined). These hooks make a duplicate impossible on a logger from `createLogger`:
 *
 * - `uniqueBindings` (pino `onChild`): a child binding a key an ancestor already binds replaces it (one value, the
 *   most specific logger's, in the ancestor's position);
 * - `uniqueFields` (pino `hooks.logMethod`): a logged field that a binding or pino already writes is dropped when it
 *   says the same thing, renamed `<key>_2` (`_3`, …) otherwise; a logged `msg` (often an error's message, the
 *   reason of a refusal) becomes `reason` and is appended to the message: "data channel failed: <reason>".
 */
import { type Logger, pino } from "pino";

/** Keys pino writes on every line of itself (messageKey `msg`, the default). */
const PINO_KEYS = ["level", "time", "pid", "hostname", "msg"] as const;
const MESSAGE_KEY = "msg";
/** Of those, the ones a binding may never carry (pid and hostname are bindings themselves). */
const LINE_KEYS: ReadonlySet<string> = new Set(["level", "time", "msg"]);
const REASON_KEY = "reason";

type Bindings = Record<string, unknown>;
type WithChindings = Logger & { [k: symbol]: unknown };

const chindingsOf = (l: Logger): string => {
  const s = (l as WithChindings)[pino.symbols.chindingsSym];
  return typeof s === "string" ? s : "";
};

/** The bindings a line of `l` carries (pid and hostname included), parsed from pino's serialised form. */
function parseChindings(chindings: string): Bindings {
  // pino keeps the bindings as `,"k":v,"k2":v2` (each value already serialised, redacted and valid JSON)
  return chindings.length > 1 ? (JSON.parse(`{${chindings.slice(1)}}`) as Bindings) : {};
}

/**
 * pino `onChild`: rewrites the child's serialised bindings without a repeated key (the last value wins) and without a
 * key pino writes itself on every line (`level`, `time`, `msg`: renamed `<key>_2`).
 */
export function uniqueBindings(child: Logger): void {
  const s = chindingsOf(child);
  const parsed = parseChindings(s);
  const keys = Object.keys(parsed);
  const clash = keys.some((k) => LINE_KEYS.has(k));
  // JSON.parse merged a repeated key into one entry: fewer keys than members. Otherwise pino's bytes stay as they are.
  if (!clash && countMembers(s) === keys.length) return;
  let out = "";
  for (const [k, v] of Object.entries(parsed)) {
    const key = LINE_KEYS.has(k) ? freeKey(parsed, {}, k) : k;
    out += `,${JSON.stringify(key)}:${JSON.stringify(v)}`;
  }
  (child as WithChindings)[pino.symbols.chindingsSym] = out;
}

/** Number of top-level members in pino's `,"k":v…` bindings string (counts the keys, skipping string contents). */
function countMembers(chindings: string): number {
  let n = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < chindings.length; i++) {
    const c = chindings[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 0) n++;
  }
  return n;
}

interface Taken {
  chindings: string;
  bindings: Bindings;
}
const takenCache = new WeakMap<Logger, Taken>();

function bindingsOf(l: Logger): Bindings {
  const s = chindingsOf(l);
  const c = takenCache.get(l);
  if (c && c.chindings === s) return c.bindings;
  const bindings = parseChindings(s);
  takenCache.set(l, { chindings: s, bindings });
  return bindings;
}

const same = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
};

const freeKey = (obj: Bindings, bindings: Bindings, base: string): string => {
  for (let n = 2; ; n++) {
    const k = `${base}_${n}`;
    if (!(k in obj) && !(k in bindings)) return k;
  }
};

/**
 * pino `hooks.logMethod`: the logged object with no key its line already has. `secretKeys` are the top-level redact
 * paths: a renamed secret must stay censored (redaction matches the key name).
 */
export function uniqueFieldsHook(secretKeys: ReadonlySet<string>, censor: string) {
  return function uniqueFields(this: Logger, args: Parameters<pino.LogFn>, method: (...a: unknown[]) => void): void {
    const first: unknown = args[0];
    if (first === null || typeof first !== "object" || first instanceof Error || Array.isArray(first)) {
      method.apply(this, args);
      return;
    }
    const obj = first as Bindings;
    const bindings = bindingsOf(this);
    let copy: Bindings | undefined;
    let reason: unknown;
    for (const k of Object.keys(obj)) {
      if (obj[k] === undefined) continue;
      const pinoKey = (PINO_KEYS as readonly string[]).includes(k);
      if (!pinoKey && !(k in bindings)) continue;
      copy ??= { ...obj };
      const v = copy[k];
      delete copy[k];
      if (k === MESSAGE_KEY) {
        reason = v;
        copy[REASON_KEY in copy || REASON_KEY in bindings ? freeKey(copy, bindings, REASON_KEY) : REASON_KEY] = v;
      } else if (pinoKey || !same(v, bindings[k])) {
        copy[freeKey(copy, bindings, k)] = secretKeys.has(k) ? censor : v;
      }
    }
    if (!copy) {
      method.apply(this, args);
      return;
    }
    const rest = args.slice(1) as unknown[];
    if (reason !== undefined) {
      const text = typeof reason === "string" ? reason : JSON.stringify(reason);
      const m = rest[0];
      // with interpolation arguments the message is a format string: a `%` of the reason must stay literal
      const safe = rest.length > 1 ? text.replaceAll("%", "%%") : text;
      rest[0] = typeof m === "string" && m !== "" ? `${m}: ${safe}` : safe;
    }
    method.apply(this, [copy, ...rest]);
  };
}
