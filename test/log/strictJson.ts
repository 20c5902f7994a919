/**
 * A strict JSON parser for log lines (RFC 8259): unlike `JSON.parse`, which silently keeps the last of two equal
 * member names (RFC 8259 §4: "the names within an object SHOULD be unique"), it throws on a duplicate name at any
 * depth, naming the key and its path.
 */
export class DuplicateKeyError extends Error {
  constructor(
    readonly key: string,
    readonly path: string,
  ) {
    super(`duplicate key ${JSON.stringify(key)} at ${path || "$"}`);
  }
}

export function parseStrict(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const string = (): string => {
    // RFC 8259 §7: a string is exactly what JSON.parse accepts between two unescaped quotes
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === "\\") i++;
      i++;
    }
    if (i >= text.length) fail("unterminated string");
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      ws();
      if (text[i] === "}") {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a member name");
        const k = string();
        if (seen.has(k)) throw new DuplicateKeyError(k, path);
        seen.add(k);
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        Object.defineProperty(out, k, { value: value(`${path}.${k}`), enumerable: true, writable: true });
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return out;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(`${path}[${out.length}]`));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return out;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) return fail("unexpected token");
    i += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };
  const v = value("");
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}
