/**
 * Dead exports: exported declarations of src/ that nothing uses.
 *
 * An export of a src/ file is used when some file of src/, test/, bench/, web/, examples/ or scripts/ imports it (by
 * name, as a namespace, or through a dynamic import), when a public entry re-exports it (package.json#exports and the
 * `imsdc` binary: their whole surface is API), or when it is a type named by another used export of its own file (its
 * signature). A re-export from a barrel counts only when the barrel's export is itself used.
 *
 *   node --import tsx scripts/dead-exports.ts        # lists them, exit 1 when there is one
 *
 * test/dead-exports.test.ts runs it against its allowlist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export interface DeadExport {
  /** path relative to the repository, e.g. "src/sip/emitter.ts" */
  file: string;
  name: string;
  line: number;
}

type Key = string; // `${file}#${name}`
const key = (file: string, name: string): Key => `${file}#${name}`;

interface ModuleInfo {
  /** exported name → where it comes from */
  exports: Map<
    string,
    { local: true; node: ts.Node; line: number; isType: boolean } | { from: string; name: string; line: number }
  >;
  /** `export * from` targets */
  stars: string[];
  /** names each used export needs exported too (types in its signature) */
  typeRefs: Map<string, Set<string>>;
}

const CONSUMER_DIRS = ["src", "test", "bench", "web", "examples", "scripts"];
const EXTENSIONS = [".ts", ".tsx", ".mts", ".js", ".mjs"];

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    if (e === "node_modules" || e === "dist" || e === "artifacts" || e.startsWith(".")) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (EXTENSIONS.some((x) => e.endsWith(x)) && !e.endsWith(".d.ts")) out.push(p);
  }
}

/** The public entries: package.json#exports and the binary, mapped from dist/ back to src/. */
function entries(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    exports: Record<string, string | { import?: string }>;
  };
  const out = ["src/cli/bin.ts"];
  for (const v of Object.values(pkg.exports)) {
    const target = typeof v === "string" ? v : v.import;
    if (target?.startsWith("./dist/")) out.push(target.replace("./dist/", "src/").replace(/\.js$/, ".ts"));
  }
  return out;
}

function resolveSpecifier(root: string, fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const abs = resolve(dirname(join(root, fromFile)), spec);
  for (const cand of [abs, abs.replace(/\.js$/, ".ts"), `${abs}.ts`, join(abs, "index.ts")]) {
    if (existsSync(cand) && statSync(cand).isFile()) return relative(root, cand);
  }
  return undefined;
}

function hasExportModifier(n: ts.Node): boolean {
  return ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

function identifiersIn(n: ts.Node, out: Set<string>): void {
  if (ts.isIdentifier(n)) out.add(n.text);
  ts.forEachChild(n, (c) => identifiersIn(c, out));
}

export function findDeadExports(root: string): DeadExport[] {
  const files: string[] = [];
  for (const d of CONSUMER_DIRS) walk(join(root, d), files);
  const rel = files.map((f) => relative(root, f));
  const modules = new Map<string, ModuleInfo>();
  /** uses found by reading imports: (file, name) or (file, "*") */
  const uses: Array<[string, string]> = [];

  for (const file of rel) {
    const text = readFileSync(join(root, file), "utf8");
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    const info: ModuleInfo = { exports: new Map(), stars: [], typeRefs: new Map() };
    const isSrc = file.startsWith("src/");

    const visit = (n: ts.Node): void => {
      // dynamic import("./x.ts"): `(await import(...)).name` uses name, anything else the whole module
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = n.arguments[0];
        if (arg && ts.isStringLiteral(arg)) {
          const target = resolveSpecifier(root, file, arg.text);
          if (target) {
            const aw = n.parent && ts.isAwaitExpression(n.parent) ? n.parent : undefined;
            const paren = aw?.parent && ts.isParenthesizedExpression(aw.parent) ? aw.parent : undefined;
            const access = paren?.parent && ts.isPropertyAccessExpression(paren.parent) ? paren.parent : undefined;
            uses.push([target, access ? access.name.text : "*"]);
          }
        }
      }
      ts.forEachChild(n, visit);
    };

    for (const st of sf.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const target = resolveSpecifier(root, file, st.moduleSpecifier.text);
        if (!target) continue;
        const b = st.importClause?.namedBindings;
        if (st.importClause?.name) uses.push([target, "default"]);
        if (b && ts.isNamespaceImport(b)) uses.push([target, "*"]);
        else if (b) for (const el of b.elements) uses.push([target, (el.propertyName ?? el.name).text]);
        if (!st.importClause) uses.push([target, "*"]);
        continue;
      }
      if (ts.isExportDeclaration(st)) {
        const target =
          st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)
            ? resolveSpecifier(root, file, st.moduleSpecifier.text)
            : undefined;
        if (st.moduleSpecifier && !target) continue;
        if (!st.exportClause) {
          if (target) info.stars.push(target);
        } else if (ts.isNamespaceExport(st.exportClause)) {
          if (target) uses.push([target, "*"]);
          info.exports.set(st.exportClause.name.text, { local: true, node: st, line: lineOf(st), isType: false });
        } else {
          for (const el of st.exportClause.elements) {
            const orig = (el.propertyName ?? el.name).text;
            if (target) info.exports.set(el.name.text, { from: target, name: orig, line: lineOf(el) });
            else info.exports.set(el.name.text, { local: true, node: el, line: lineOf(el), isType: false });
          }
        }
        continue;
      }
      if (ts.isExportAssignment(st)) {
        info.exports.set("default", { local: true, node: st, line: lineOf(st), isType: false });
        continue;
      }
      if (!hasExportModifier(st)) continue;
      const isType = ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st);
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations)
          if (ts.isIdentifier(d.name))
            info.exports.set(d.name.text, { local: true, node: d, line: lineOf(d), isType: false });
      } else if (
        (ts.isFunctionDeclaration(st) ||
          ts.isClassDeclaration(st) ||
          ts.isInterfaceDeclaration(st) ||
          ts.isTypeAliasDeclaration(st) ||
          ts.isEnumDeclaration(st)) &&
        st.name
      ) {
        info.exports.set(st.name.text, { local: true, node: st, line: lineOf(st), isType });
      }
    }
    visit(sf);
    if (isSrc) {
      const typeNames = new Set([...info.exports].filter(([, e]) => "isType" in e && e.isType).map(([n]) => n));
      for (const [name, e] of info.exports) {
        if (!("local" in e)) continue;
        const ids = new Set<string>();
        identifiersIn(e.node, ids);
        ids.delete(name);
        info.typeRefs.set(name, new Set([...ids].filter((i) => typeNames.has(i))));
      }
    }
    modules.set(file, info);
  }

  const used = new Set<Key>();
  const work: Array<[string, string]> = [];
  const use = (file: string, name: string) => {
    const mod = modules.get(file);
    if (!mod) return;
    if (name === "*") {
      for (const n of mod.exports.keys()) use(file, n);
      for (const s of mod.stars) use(s, "*");
      return;
    }
    const k = key(file, name);
    if (used.has(k)) return;
    used.add(k);
    work.push([file, name]);
  };
  for (const e of entries(root)) use(e, "*");
  for (const [f, n] of uses) use(f, n);
  while (work.length > 0) {
    const [file, name] = work.pop() as [string, string];
    const mod = modules.get(file);
    if (!mod) continue;
    const e = mod.exports.get(name);
    if (e && "from" in e) use(e.from, e.name);
    else if (e) for (const t of mod.typeRefs.get(name) ?? []) use(file, t);
    else for (const s of mod.stars) if (modules.get(s)?.exports.has(name) || modules.get(s)?.stars.length) use(s, name);
  }

  const dead: DeadExport[] = [];
  for (const [file, mod] of modules) {
    if (!file.startsWith("src/")) continue;
    for (const [name, e] of mod.exports) if (!used.has(key(file, name))) dead.push({ file, name, line: e.line });
  }
  return dead.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const dead = findDeadExports(root);
  for (const d of dead) process.stdout.write(`${d.file}:${d.line}: ${d.name}\n`);
  process.stdout.write(`${dead.length} dead export(s)\n`);
  process.exitCode = dead.length > 0 ? 1 : 0;
}
