#!/usr/bin/env node
// npm run docs: writes docs/reference/*.md from the library's own declarations, read with the
// TypeScript compiler API (the repository's `typescript`): the exports of the three entry points
// and their JSDoc, the option interfaces and the defaults declared for them (`satisfies { [K in
// keyof Required<X>]: unknown }` in config/defaults.ts says which interface a declaration is for),
// the status table, the metric declarations (name, help, labels, buckets). Nothing of the library is
// imported or run: constant values are evaluated from their source text, and anything the evaluator cannot
// read fails the script, naming the place.
//
//   node scripts/docs.mjs            write the pages (prints which changed)
//   node scripts/docs.mjs --check    write nothing; exit 1 naming each page that differs
//   node scripts/docs.mjs --json     print the model and the pages made from it (for test/unit/reference-docs.test.ts)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'libs/mesh-client/src');
const OUT = 'docs/reference';

/** The entry points, as users import them. */
const ENTRIES = [
  { file: 'index.ts', name: '@datapunk/mesh-client' },
  { file: 'advanced.ts', name: '@datapunk/mesh-client/advanced' },
  { file: 'testing/index.ts', name: '@datapunk/mesh-client/testing' },
];

/** The option types of the options page, in its order: name, and a sentence on where they are given. */
const OPTION_TYPES = [
  ['MeshModuleOptions', '`MeshClientModule.forRoot(options)`, or what a `forRootAsync` factory returns.'],
  ['MeshModuleExtras', 'Beside the options in `forRoot` and `forRootAsync`: they shape the module itself.'],
  ['MeshClientOptions', 'One entry of `clients` (and, partly, `defaults`): one remote service.'],
  ['ProtoSource', '`proto` of a client: `.proto` files, or a definition loaded elsewhere.'],
  ['MeshTlsOptions', '`tls` of a client.'],
  ['RetryPolicy', '`retry` of a client, of `methods[rpc]` or of one call (`false` turns retry off at any level).'],
  ['BreakerPolicy', '`breaker` of a client (`false` turns it off).'],
  ['MethodPolicy', "`methods[rpc]`: per-method overrides, keyed by RPC name (or Nest's name for it)."],
  ['OutlierDetectionOptions', '`outlierDetection` of a round_robin client (`true` for the defaults).'],
  ['MeshXdsOptions', '`xds` of an `xds:///` client.'],
  ['MeshClientPatch', '`MeshClient.update(patch)`: what may change at run time, for calls started afterwards.'],
  ['CallOptions', 'The last argument of `unary()`, `serverStream()`, `clientStream()`, `bidiStream()` and the `getService()` methods.'],
  ['IterateOptions', 'The last argument of `iterate()`.'],
  ['HandlerCallOptions', '`@MeshCallOptions(options)` on a controller or handler.'],
  ['MeshHealthCheckOptions', '`MeshHealthIndicator.isHealthy(key, options)`.'],
  ['TokenPluginOptions', '`new TokenPlugin(options)`.'],
  ['LoggingPluginOptions', '`new LoggingPlugin(options)`.'],
  ['FaultInjectionOptions', '`new FaultInjectionPlugin(options)`.'],
  ['FaultRule', 'A rule of `FaultInjectionOptions.methods` or `.all`.'],
  ['ClientsModuleGrpcOptions', "`options` of a `MeshClientModule.fromClientsModule` entry: Nest's gRPC client options, each mapped or refused."],
  ['MeshFakeOptions', '`MeshFake.start(proto, handlers, options)` (`@datapunk/mesh-client/testing`).'],
];

/** Defaults declared without a `satisfies` clause that names their interface: option path -> declaration. */
const EXTRA_DEFAULTS = {
  'MeshClientOptions.concurrency.limit.adaptive': 'ADAPTIVE_DEFAULTS',
  'IterateOptions.highWaterMark': 'DEFAULT_HIGH_WATER_MARK',
  'MeshHealthCheckOptions.timeoutMs': 'HEALTH_DEFAULTS.checkTimeoutMs',
};

// ---------------------------------------------------------------------------------------------
// The program

const program = ts.createProgram(
  ENTRIES.map((e) => join(src, e.file)),
  {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    noEmit: true,
    skipLibCheck: true,
    experimentalDecorators: true,
    strict: true,
  },
);
const checker = program.getTypeChecker();
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
const librarySources = program.getSourceFiles().filter((f) => f.fileName.startsWith(src) && !f.isDeclarationFile);

const where = (node) => {
  const sf = node.getSourceFile();
  const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
  return `${relative(root, sf.fileName)}:${String(line + 1)}`;
};
const fail = (node, message) => {
  throw new Error(`docs: ${node ? `${where(node)}: ` : ''}${message}`);
};
const resolve = (symbol) => (symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

/** A JSDoc comment as markdown text: paragraphs kept, lines within them joined. */
function docText(symbol) {
  if (!symbol) return '';
  return paragraphs(partsText(symbol.getDocumentationComment(checker)));
}
/** Display parts as text, `{@link X}` as `X` in a code span. */
function partsText(parts = []) {
  return parts
    .map((p) => {
      if (p.kind === 'link') return '';
      if (p.kind === 'linkName' || p.kind === 'linkText') return `\`${p.text.trim()}\``;
      return p.text;
    })
    .join('');
}
function paragraphs(text) {
  return text
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .split(/\n(?=\s*- )/)
        .map((item) => item.replace(/\s*\n\s*/g, ' ').trim())
        .join('\n'),
    )
    .filter(Boolean)
    .join('\n\n');
}
/** One line, for a table cell. */
const cell = (text) => text.replace(/\n+/g, ' ').replaceAll('|', '\\|');
const code = (text) => `\`${text.replaceAll('`', "'")}\``;
const tags = (symbol, name) => (symbol ? symbol.getJsDocTags(checker).filter((t) => t.name === name) : []);
const isInternal = (symbol) => tags(symbol, 'internal').length > 0;
/** Source text on one line. */
const flat = (text) =>
  text
    .replace(/\s+/g, ' ')
    .replace(/([([<]) /g, '$1')
    .replace(/ ([)\]>])/g, '$1')
    .replace(/,([)\]>])/g, '$1')
    .replace(/,? ?}/g, ' }')
    .replace(/; }/g, ' }')
    .replace(/^\| /, '')
    .trim();
const printed = (node) => printer.printNode(ts.EmitHint.Unspecified, node, node.getSourceFile());

// ---------------------------------------------------------------------------------------------
// Constant values, evaluated from their source text

const evaluated = new Map();

/** The value of a constant expression: literals, arrays, objects, `Object.freeze`, `as const`, consts, enum members, small pure functions. */
function evaluate(node, env = new Map()) {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isNonNullExpression(node))
    return evaluate(node.expression, env);
  if (ts.isTypeAssertionExpression(node)) return evaluate(node.expression, env);
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) return -evaluate(node.operand, env);
  if (ts.isBinaryExpression(node)) {
    const [a, b] = [evaluate(node.left, env), evaluate(node.right, env)];
    switch (node.operatorToken.kind) {
      case ts.SyntaxKind.AsteriskToken:
        return a * b;
      case ts.SyntaxKind.PlusToken:
        return a + b;
      case ts.SyntaxKind.MinusToken:
        return a - b;
      case ts.SyntaxKind.SlashToken:
        return a / b;
      case ts.SyntaxKind.AsteriskAsteriskToken:
        return a ** b;
    }
  }
  if (ts.isArrayLiteralExpression(node))
    return node.elements.flatMap((e) => (ts.isSpreadElement(e) ? [...evaluate(e.expression, env)] : [evaluate(e, env)]));
  if (ts.isObjectLiteralExpression(node)) {
    const out = {};
    for (const p of node.properties) {
      if (ts.isSpreadAssignment(p)) Object.assign(out, evaluate(p.expression, env));
      else if (ts.isShorthandPropertyAssignment(p)) {
        const symbol = checker.getShorthandAssignmentValueSymbol(p);
        out[p.name.text] = symbol && env.has(symbol) ? env.get(symbol) : valueOfSymbol(resolve(symbol), p.name);
      } else if (ts.isPropertyAssignment(p)) out[propertyKey(p.name, env)] = evaluate(p.initializer, env);
      else fail(p, 'cannot evaluate this property');
    }
    return out;
  }
  if (ts.isIdentifier(node)) {
    if (node.text === 'undefined') return undefined;
    const symbol = resolve(checker.getSymbolAtLocation(node));
    if (symbol && env.has(symbol)) return env.get(symbol);
    return valueOfSymbol(symbol, node);
  }
  if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
    const member = resolve(checker.getSymbolAtLocation(ts.isPropertyAccessExpression(node) ? node.name : node))?.valueDeclaration;
    if (member && ts.isEnumMember(member)) return checker.getConstantValue(member);
    const object = evaluate(node.expression, env);
    const key = ts.isPropertyAccessExpression(node) ? node.name.text : evaluate(node.argumentExpression, env);
    if (object === null || typeof object !== 'object') fail(node, 'cannot evaluate: not an object');
    return object[key];
  }
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    if (ts.isPropertyAccessExpression(callee) && callee.expression.getText() === 'Object' && callee.name.text === 'freeze')
      return evaluate(node.arguments[0], env);
    const fn = resolve(checker.getSymbolAtLocation(callee))?.valueDeclaration;
    const body = fn && ts.isVariableDeclaration(fn) && fn.initializer && ts.isArrowFunction(fn.initializer) ? fn.initializer : fn;
    if (body && (ts.isArrowFunction(body) || ts.isFunctionDeclaration(body))) {
      const inner = new Map(env);
      body.parameters.forEach((p, i) => {
        const given = node.arguments[i];
        const value = given ? evaluate(given, env) : p.initializer ? evaluate(p.initializer, inner) : undefined;
        inner.set(checker.getSymbolAtLocation(p.name), value);
      });
      if (ts.isArrowFunction(body) && !ts.isBlock(body.body)) return evaluate(body.body, inner);
      const ret = body.body?.statements.length === 1 && ts.isReturnStatement(body.body.statements[0]) ? body.body.statements[0] : undefined;
      if (ret?.expression) return evaluate(ret.expression, inner);
    }
  }
  return fail(node, `cannot evaluate \`${flat(node.getText()).slice(0, 80)}\``);
}
function propertyKey(name, env) {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) return evaluate(name.expression, env);
  return fail(name, 'cannot evaluate this key');
}
function valueOfSymbol(symbol, at) {
  const decl = symbol?.valueDeclaration;
  if (decl && ts.isEnumMember(decl)) return checker.getConstantValue(decl);
  if (!decl || !ts.isVariableDeclaration(decl) || !decl.initializer) return fail(at, `cannot evaluate \`${at.getText()}\`: no constant`);
  if (!evaluated.has(decl)) evaluated.set(decl, evaluate(decl.initializer));
  return evaluated.get(decl);
}

/** A value as TypeScript would write it. */
function literal(value) {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${literal(v)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(value);
}

/** Every exported `const` of the library by name (to find declarations wherever a file lives). */
const constants = new Map();
for (const sf of librarySources) {
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement) || !statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) constants.set(d.name.text, d);
  }
}
const constant = (name) => constants.get(name) ?? fail(undefined, `no exported constant ${name} in the library`);

// ---------------------------------------------------------------------------------------------
// Defaults: declarations keyed by the option path they are for

/** `satisfies { [K in keyof Required<NonNullable<MeshClientOptions['pool']>>]: unknown }` -> 'MeshClientOptions.pool'. */
function pathOfSatisfies(type) {
  if (!ts.isMappedTypeNode(type)) return undefined;
  const constraint = type.typeParameter.constraint;
  if (!constraint || !ts.isTypeOperatorNode(constraint) || constraint.operator !== ts.SyntaxKind.KeyOfKeyword) return undefined;
  const path = (t) => {
    if (ts.isTypeReferenceNode(t)) {
      const name = t.typeName.getText();
      if (['Required', 'NonNullable', 'Partial', 'Readonly'].includes(name)) return path(t.typeArguments[0]);
      return name;
    }
    if (ts.isIndexedAccessTypeNode(t) && ts.isLiteralTypeNode(t.indexType)) return `${path(t.objectType)}.${t.indexType.literal.text}`;
    return fail(t, 'cannot read the interface this default declaration is for');
  };
  return path(constraint.type);
}

/** Option path -> { value, notes: JSDoc of each key in the declaration }. */
const defaults = new Map();
for (const [name, decl] of constants) {
  let init = decl.initializer;
  while (init && (ts.isCallExpression(init) || ts.isAsExpression(init) || ts.isParenthesizedExpression(init))) {
    if (ts.isCallExpression(init)) init = init.arguments[0];
    else init = init.expression;
  }
  if (!init || !ts.isSatisfiesExpression(init)) continue;
  const path = pathOfSatisfies(init.type);
  if (!path) continue;
  defaults.set(path, { name, value: valueOfSymbol(checker.getSymbolAtLocation(decl.name), decl.name), notes: notesOf(init.expression) });
}
for (const [path, ref] of Object.entries(EXTRA_DEFAULTS)) {
  const [name, ...keys] = ref.split('.');
  const decl = constant(name);
  let value = valueOfSymbol(checker.getSymbolAtLocation(decl.name), decl.name);
  for (const k of keys) value = value?.[k];
  if (value === undefined) fail(decl, `${ref} has no value`);
  defaults.set(path, { name: ref, value, notes: {} });
}
/** The JSDoc on each key of an object literal (`/** true when NODE_ENV === 'production' *\/ requireMtls: NONE`). */
function notesOf(node) {
  while (ts.isAsExpression(node) || ts.isParenthesizedExpression(node)) node = node.expression;
  const notes = {};
  if (!ts.isObjectLiteralExpression(node)) return notes;
  for (const p of node.properties) {
    const doc = ts
      .getJSDocCommentsAndTags(p)
      .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
      .join(' ');
    if (doc && p.name) notes[p.name.getText()] = paragraphs(doc);
  }
  return notes;
}
/**
 * The declared default at an option path (`MeshClientOptions.keepalive.timeoutMs`): the key in the
 * nearest declaration above it (its comment, else its value), else a declaration for the path itself.
 */
function declaredDefault(path) {
  const parts = path.split('.');
  for (let i = parts.length - 1; i >= 1; i--) {
    const found = defaults.get(parts.slice(0, i).join('.'));
    if (!found) continue;
    const rest = parts.slice(i);
    let value = found.value;
    for (const k of rest.slice(0, -1)) value = value?.[k];
    const key = rest.at(-1);
    if (rest.length === 1 && found.notes[key]) return { known: true, value: value?.[key], note: found.notes[key], from: found.name };
    if (value && typeof value === 'object' && key in value) return { known: true, value: value[key], from: found.name };
  }
  const own = defaults.get(path);
  return own ? { known: true, value: own.value, from: own.name } : { known: false };
}

// ---------------------------------------------------------------------------------------------
// Exports of the entry points, grouped by the `// Title` comments above their export statements

function exportsOf(entry) {
  const sf = program.getSourceFile(join(src, entry.file));
  const groups = [];
  let group;
  for (const statement of sf.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) continue;
    const titles = (ts.getLeadingCommentRanges(sf.text, statement.pos) ?? [])
      .map((r) => sf.text.slice(r.pos, r.end))
      .filter((t) => t.startsWith('// '))
      .map((t) => t.slice(3).trim());
    if (titles.length > 0) {
      const title = titles.at(-1);
      group = groups.find((g) => g.title === title) ?? groups[groups.push({ title, names: [] }) - 1];
    }
    if (!group) fail(statement, 'an export statement of an entry point needs a `// Group title` comment above it (or above an earlier one)');
    for (const specifier of statement.exportClause.elements) {
      const symbol = resolve(checker.getSymbolAtLocation(specifier.name));
      group.names.push({ name: specifier.name.text, symbol });
    }
  }
  return groups;
}

const entries = ENTRIES.map((e) => ({ ...e, groups: exportsOf(e) }));
const exportedSymbols = new Map(entries.flatMap((e) => e.groups.flatMap((g) => g.names.map((n) => [n.name, { ...n, entry: e.name }]))));
const symbolOf = (name) => exportedSymbols.get(name)?.symbol ?? fail(undefined, `${name} is not exported by an entry point`);

// ---------------------------------------------------------------------------------------------
// Options

/** The type literals a property's type holds (through Partial<>, unions, intersections). */
function literalsIn(type) {
  if (!type) return [];
  if (ts.isTypeLiteralNode(type)) return [type];
  if (ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) return type.types.flatMap(literalsIn);
  if (ts.isParenthesizedTypeNode(type)) return literalsIn(type.type);
  if (ts.isTypeReferenceNode(type) && ['Partial', 'Readonly', 'Required'].includes(type.typeName.getText()))
    return literalsIn(type.typeArguments?.[0]);
  return [];
}

/** `Default 5000.` / `Default: the client's.` / `(default 16)` in a property's JSDoc. */
function statedDefault(doc) {
  return /\b[Dd]efault:? ([^.;]+?)(?:\.(?:\s|$)|;|\)|$)/.exec(doc)?.[1]?.trim();
}

/** The rows of one property: itself, then the members of its type literals where they say more. */
function optionRows(owner, prefix, property) {
  const name = property.name.getText();
  const path = `${prefix}${name}`;
  const symbol = checker.getSymbolAtLocation(property.name);
  const doc = docText(symbol);
  const literals = literalsIn(property.type);
  const nested = literals.filter(
    (l) =>
      l.members.some((m) => docText(checker.getSymbolAtLocation(m.name))) ||
      declaredDefault(`${owner}.${path}`).known ||
      l.members.some((m) => m.name && declaredDefault(`${owner}.${path}.${m.name.getText()}`).known),
  );
  const typeText = property.type ? flat(property.type.getText()) : 'unknown';
  const wholeIsLiteral = property.type && nested.length === 1 && nested[0] === property.type;
  const d = declaredDefault(`${owner}.${path}`);
  let defaultText;
  if (d.note) defaultText = d.note;
  else if (d.known && d.value !== undefined && !(typeof d.value === 'object' && d.value !== null && !Array.isArray(d.value) && nested.length))
    defaultText = code(literal(d.value));
  else if (d.known && d.value !== undefined) defaultText = 'see the rows below';
  else if (d.known) defaultText = 'none';
  else {
    const stated = statedDefault(doc);
    defaultText =
      stated && /^('[^']*'|-?\d[\d_.]*|true|false|\[.*\]|\{.*\})$/.test(stated)
        ? code(stated)
        : (stated ?? (property.questionToken ? '' : 'required'));
  }
  const rows = [{ path, optional: Boolean(property.questionToken), type: wholeIsLiteral ? 'object' : typeText, default: defaultText, doc }];
  for (const l of nested) for (const m of l.members) if (ts.isPropertySignature(m)) rows.push(...optionRows(owner, `${path}.`, m));
  return rows;
}

/** An option type's sections: an interface is one table; a union of type literals one per form; an alias of others its properties. */
function optionType(name, usage) {
  const symbol = symbolOf(name);
  const decl = symbol.declarations[0];
  const out = { name, usage, doc: docText(symbol), forms: [] };
  if (ts.isInterfaceDeclaration(decl)) {
    out.extends = decl.heritageClauses?.flatMap((h) => h.types.map((t) => flat(t.getText()))) ?? [];
    out.forms.push({ title: undefined, rows: decl.members.filter(ts.isPropertySignature).flatMap((m) => optionRows(name, '', m)) });
  } else if (ts.isTypeAliasDeclaration(decl) && ts.isUnionTypeNode(decl.type) && decl.type.types.every(ts.isTypeLiteralNode)) {
    for (const literalType of decl.type.types) {
      const rows = literalType.members.filter(ts.isPropertySignature).flatMap((m) => optionRows(name, '', m));
      out.forms.push({ title: `with \`${rows[0].path}\``, rows });
    }
  } else if (ts.isTypeAliasDeclaration(decl) && ts.isIntersectionTypeNode(decl.type)) {
    out.includes = decl.type.types.filter(ts.isTypeReferenceNode).map((t) => flat(t.getText()));
    out.forms.push({
      title: undefined,
      rows: decl.type.types
        .filter(ts.isTypeLiteralNode)
        .flatMap((l) => l.members.filter(ts.isPropertySignature).flatMap((m) => optionRows(name, '', m))),
    });
  } else if (ts.isTypeAliasDeclaration(decl)) {
    // e.g. Partial<Pick<MeshClientOptions, ...>>: the properties of the resolved type, documented where declared
    const type = checker.getDeclaredTypeOfSymbol(symbol);
    out.picks = checker.getPropertiesOfType(type).map((p) => {
      const owner = p.declarations[0].parent;
      return { name: p.name, owner: ts.isInterfaceDeclaration(owner) ? owner.name.text : undefined };
    });
  } else fail(decl, `cannot document ${name} as options`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors: the status table, the categories (JSDoc bullets of MeshErrorCategory), the error classes

/** `- \`key\`: text` bullets of a JSDoc comment. */
function bulletsOf(doc) {
  const out = new Map();
  for (const m of doc.matchAll(/(?:^|\n)- `([^`]+)`: ([\s\S]*?)(?=\n- `|\n\s*\n|(?![\s\S]))/g)) out.set(m[1], m[2].replace(/\s*\n\s*/g, ' ').trim());
  return out;
}
const rawDoc = (symbol) => partsText(symbol.getDocumentationComment(checker));

function unionMembers(symbol) {
  const decl = symbol.declarations[0];
  if (!ts.isTypeAliasDeclaration(decl) || !ts.isUnionTypeNode(decl.type)) fail(decl, 'expected a union of string literals');
  return decl.type.types.map((t) =>
    ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal) ? t.literal.text : fail(t, 'expected a string literal'),
  );
}

function errorsModel() {
  const table = valueOfSymbol(symbolOf('STATUS_TABLE'), constant('STATUS_TABLE').name);
  const categorySymbol = symbolOf('MeshErrorCategory');
  const categories = unionMembers(categorySymbol);
  const bullets = bulletsOf(rawDoc(categorySymbol));
  for (const c of categories) if (!bullets.has(c)) fail(categorySymbol.declarations[0], `MeshErrorCategory's JSDoc has no bullet for '${c}'`);
  for (const c of bullets.keys())
    if (!categories.includes(c)) fail(categorySymbol.declarations[0], `MeshErrorCategory's JSDoc has a bullet for '${c}', no category`);
  const intro = paragraphs(rawDoc(categorySymbol).split(/\n- `/)[0]);
  const codes = Object.entries(table).map(([code, row]) => ({ code: Number(code), ...row }));
  return {
    intro,
    codes,
    categories: categories.map((c) => ({
      category: c,
      meaning: bullets.get(c),
      codes: codes.filter((r) => r.category === c && r.code !== 0).map((r) => r.codeName),
    })),
    classifyDoc: docText(symbolOf('classifyStatus')),
    classes: ['MeshClientError', 'MeshConfigError', 'MeshAttemptFault'].map((name) => classModel(name)),
  };
}

// ---------------------------------------------------------------------------------------------
// Metrics: every object literal with `name: METRIC.x` and `help`, and the provider kind that makes it

function metricKind(literalNode) {
  const kindOf = (call) => /^make(?:Buffered|Own)?(Counter|Gauge|Histogram|Summary)Provider$/.exec(call.expression.getText())?.[1]?.toLowerCase();
  for (let n = literalNode.parent; n; n = n.parent) {
    if (ts.isCallExpression(n) && kindOf(n)) return kindOf(n);
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) {
      // an array of declarations handed to a function that makes the providers: `COUNTERS.map(bufferedCounter)`
      const variable = checker.getSymbolAtLocation(n.name);
      let kind;
      const visit = (node) => {
        if (
          ts.isCallExpression(node) &&
          ts.isPropertyAccessExpression(node.expression) &&
          node.expression.name.text === 'map' &&
          checker.getSymbolAtLocation(node.expression.expression) === variable
        ) {
          const fn = resolve(checker.getSymbolAtLocation(node.arguments[0]))?.valueDeclaration;
          fn?.forEachChild(function find(c) {
            if (ts.isCallExpression(c) && kindOf(c)) kind ??= kindOf(c);
            c.forEachChild(find);
          });
        }
        node.forEachChild(visit);
      };
      visit(n.getSourceFile());
      if (kind) return kind;
    }
  }
  return fail(literalNode, 'cannot tell which kind of metric this declares (no make<Kind>Provider call reaches it)');
}

function metricsModel() {
  const metricSymbol = symbolOf('METRIC');
  const names = valueOfSymbol(metricSymbol, constant('METRIC').name);
  const found = new Map();
  for (const sf of librarySources) {
    sf.forEachChild(function visit(node) {
      if (ts.isObjectLiteralExpression(node)) {
        const prop = (key) => node.properties.find((p) => ts.isPropertyAssignment(p) && p.name.getText() === key);
        const name = prop('name');
        const help = prop('help');
        if (
          name &&
          help &&
          ts.isPropertyAccessExpression(name.initializer) &&
          resolve(checker.getSymbolAtLocation(name.initializer.expression)) === metricSymbol
        ) {
          const series = evaluate(name.initializer);
          const labels = prop('labelNames') ? evaluate(prop('labelNames').initializer) : [];
          const buckets = prop('buckets') ? evaluate(prop('buckets').initializer) : undefined;
          found.set(series, { name: series, type: metricKind(node), help: evaluate(help.initializer), labels, ...(buckets ? { buckets } : {}) });
        }
      }
      node.forEachChild(visit);
    });
  }
  const series = Object.values(names).map(
    (n) => found.get(n) ?? fail(constant('METRIC'), `METRIC names ${n}, but no provider declares it (name and help)`),
  );
  const labelDoc = constants.get('CALL_LABELS');
  const glossary = bulletsOf(rawDoc(checker.getSymbolAtLocation(labelDoc.name)));
  const used = [...new Set(series.flatMap((s) => s.labels))];
  for (const l of used) if (!glossary.has(l)) fail(labelDoc, `CALL_LABELS' JSDoc has no bullet for the label '${l}'`);
  return {
    series,
    labels: used.map((label) => ({ label, meaning: glossary.get(label) })),
    grpcTypes: Object.values(valueOfSymbol(checker.getSymbolAtLocation(constant('GRPC_TYPE').name), constant('GRPC_TYPE').name)),
    circuitStates: valueOfSymbol(checker.getSymbolAtLocation(constant('CIRCUIT_STATE_VALUE').name), constant('CIRCUIT_STATE_VALUE').name),
    limitedReasons: unionMembers(symbolOf('LimitedReason')),
  };
}

// ---------------------------------------------------------------------------------------------
// The API: every export, its kind, its JSDoc, its signatures and members

function typeText(node, fallbackType) {
  if (!node) return fallbackType ? checker.typeToString(fallbackType, undefined, ts.TypeFormatFlags.NoTruncation) : 'unknown';
  if (ts.isTypeQueryNode(node)) return checker.typeToString(checker.getTypeFromTypeNode(node), undefined, ts.TypeFormatFlags.NoTruncation);
  return flat(node.getText());
}
/** `name<T>(a: A, b?: B): R`, parameter decorators and modifiers left out, `= value` shown as optional. */
function signature(node, name) {
  const typeParams = node.typeParameters ? `<${node.typeParameters.map((t) => flat(t.getText())).join(', ')}>` : '';
  const params = node.parameters.map((p) => {
    const rest = p.dotDotDotToken ? '...' : '';
    const optional = p.questionToken || p.initializer ? '?' : '';
    return `${rest}${p.name.getText()}${optional}: ${typeText(p.type, checker.getTypeAtLocation(p))}`;
  });
  const sig = checker.getSignatureFromDeclaration(node);
  const ret = ts.isConstructorDeclaration(node) ? '' : `: ${typeText(node.type, sig && checker.getReturnTypeOfSignature(sig))}`;
  return `${name}${typeParams}(${params.join(', ')})${ret}`;
}
const isPublic = (member) =>
  !member.modifiers?.some((m) => [ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword].includes(m.kind)) &&
  !(member.name && (ts.isPrivateIdentifier(member.name) || ts.isComputedPropertyName(member.name)));
const isStatic = (member) => Boolean(member.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword));

function classModel(name) {
  const symbol = symbolOf(name);
  const decl = symbol.declarations.find(ts.isClassDeclaration);
  const members = [];
  // parameter properties (`constructor(readonly tls: ...)`) are fields too, even of a private constructor
  // (those of an @internal constructor only when documented)
  for (const ctor of decl.members.filter(ts.isConstructorDeclaration)) {
    const internalCtor = ts.getJSDocTags(ctor).some((t) => t.tagName.text === 'internal');
    for (const p of ctor.parameters) {
      if (!ts.canHaveModifiers(p) || !p.modifiers?.length || !isPublic(p)) continue;
      const readonly = p.modifiers.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '';
      const doc = paragraphs(
        ts
          .getJSDocCommentsAndTags(p)
          .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
          .join('\n\n'),
      );
      if (internalCtor && !doc) continue;
      members.push({
        id: p.name.getText(),
        field: true,
        signatures: [`${readonly}${p.name.getText()}: ${typeText(p.type, checker.getTypeAtLocation(p))}`],
        doc,
      });
    }
  }
  for (const m of decl.members) {
    if (!isPublic(m)) continue;
    const key = ts.isConstructorDeclaration(m) ? 'constructor' : m.name?.getText();
    const memberSymbol = ts.isConstructorDeclaration(m) ? undefined : checker.getSymbolAtLocation(m.name);
    const docNode = ts.isConstructorDeclaration(m) ? m : undefined;
    const internal = memberSymbol ? isInternal(memberSymbol) : ts.getJSDocTags(docNode).some((t) => t.tagName.text === 'internal');
    if (internal) continue;
    const label = `${isStatic(m) ? `${name}.` : ''}${key}`;
    let sig;
    if (ts.isMethodDeclaration(m) || ts.isConstructorDeclaration(m)) {
      // overloads: the declarations without a body; a lone implementation stands for itself
      const group = decl.members.filter((o) =>
        ts.isConstructorDeclaration(m) ? ts.isConstructorDeclaration(o) : o.name?.getText() === key && isStatic(o) === isStatic(m),
      );
      const overloads = group.filter((o) => !o.body);
      if (m.body && overloads.length > 0) continue;
      sig = signature(m, ts.isConstructorDeclaration(m) ? 'new ' + name : label);
    } else if (ts.isGetAccessorDeclaration(m)) {
      const settable = decl.members.some((o) => ts.isSetAccessorDeclaration(o) && o.name.getText() === key);
      sig = `${settable ? '' : 'readonly '}${label}: ${typeText(m.type, checker.getTypeAtLocation(m))}`;
    } else if (ts.isSetAccessorDeclaration(m)) continue;
    else if (ts.isPropertyDeclaration(m))
      sig = `${m.modifiers?.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : ''}${label}${m.questionToken ? '?' : ''}: ${typeText(m.type, checker.getTypeAtLocation(m))}`;
    else continue;
    const doc = ts.isConstructorDeclaration(m)
      ? paragraphs(
          ts
            .getJSDocCommentsAndTags(m)
            .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
            .join('\n\n'),
        )
      : docText(memberSymbol);
    const id = `${isStatic(m) ? 'static ' : ''}${key}`;
    const existing = members.find((x) => x.id === id);
    const field = ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m);
    if (existing) existing.signatures.push(sig);
    else members.push({ id, field, signatures: [sig], doc });
  }
  const heritage =
    decl.heritageClauses?.flatMap((h) =>
      h.types.map((t) => `${h.token === ts.SyntaxKind.ExtendsKeyword ? 'extends' : 'implements'} ${flat(t.getText())}`),
    ) ?? [];
  return { name, kind: 'class', doc: docText(symbol), examples: examplesOf(symbol), heritage, members };
}
/**
 * The `@example` blocks of a declaration's JSDoc, read from its source text: an example may hold
 * decorators (`@Get('health')`), which the JSDoc parser would take for tags.
 */
function examplesOf(symbol) {
  const decl = symbol.declarations?.[0];
  if (!decl) return [];
  const docs = ts.getJSDocCommentsAndTags(decl).filter(ts.isJSDoc);
  return docs.flatMap((doc) => {
    const lines = doc
      .getText()
      .replace(/^\/\*\*|\*\/$/g, '')
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''));
    const out = [];
    let current;
    for (const line of lines) {
      const tag = /^@(example|param|returns?|internal|see|deprecated|throws)\b/.exec(line.trim());
      if (tag) {
        current = tag[1] === 'example' ? [] : undefined;
        if (current) out.push(current);
        continue;
      }
      current?.push(line);
    }
    return out
      .map((l) =>
        l
          .join('\n')
          .replace(/^\s*\n/, '')
          .trimEnd(),
      )
      .filter(Boolean);
  });
}

function interfaceMembers(decl) {
  return decl.members
    .filter((m) => m.name && !isInternal(checker.getSymbolAtLocation(m.name)))
    .map((m) => {
      const symbol = checker.getSymbolAtLocation(m.name);
      const name = m.name.getText();
      let type;
      if (ts.isMethodSignature(m)) type = signature(m, '').replace(/^\(/, '(');
      else type = typeText(m.type, checker.getTypeAtLocation(m));
      const readonly = m.modifiers?.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword) ? 'readonly ' : '';
      return { name: `${readonly}${name}${m.questionToken ? '?' : ''}`, type, doc: docText(symbol) };
    });
}

function exportModel(name) {
  const symbol = symbolOf(name);
  const decl = symbol.declarations[0];
  const doc = docText(symbol);
  if (!doc) fail(decl, `${name} is exported but has no JSDoc: the API reference needs one`);
  const base = { name, doc, examples: examplesOf(symbol) };
  if (OPTION_TYPES.some(([n]) => n === name)) return { ...base, kind: ts.isInterfaceDeclaration(decl) ? 'interface' : 'type', options: true };
  if (symbol.declarations.some(ts.isClassDeclaration)) return classModel(name);
  if (ts.isInterfaceDeclaration(decl)) {
    const heritage = decl.heritageClauses?.flatMap((h) => h.types.map((t) => `extends ${flat(t.getText())}`)) ?? [];
    return { ...base, kind: 'interface', heritage, members: interfaceMembers(decl) };
  }
  if (ts.isTypeAliasDeclaration(decl)) {
    const text = printed(decl).replace(/^export /, '');
    return { ...base, kind: 'type', declaration: text.split('\n').length <= 12 ? text : undefined };
  }
  if (ts.isFunctionDeclaration(decl)) {
    const overloads = symbol.declarations.filter((d) => ts.isFunctionDeclaration(d) && !d.body);
    return { ...base, kind: 'function', signatures: (overloads.length ? overloads : [decl]).map((d) => signature(d, name)) };
  }
  if (ts.isVariableDeclaration(decl)) {
    const init = decl.initializer;
    if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)))
      return { ...base, kind: 'function', signatures: [signature(init, name)] };
    const type = checker.getTypeAtLocation(decl.name);
    const callable = type.getCallSignatures();
    if (callable.length > 0 && !init?.getText().startsWith('Object.freeze'))
      return {
        ...base,
        kind: 'function',
        signatures: callable.map((s) => `${name}${checker.signatureToString(s, undefined, ts.TypeFormatFlags.NoTruncation)}`),
      };
    let value;
    try {
      value = literal(valueOfSymbol(symbol, decl.name));
    } catch {
      value = undefined;
    }
    return {
      ...base,
      kind: 'const',
      type: decl.type ? flat(decl.type.getText()) : undefined,
      value: value && value.length <= 700 ? value : undefined,
    };
  }
  return fail(decl, `cannot document the export ${name}`);
}

// ---------------------------------------------------------------------------------------------
// The model, and the pages made from it

function model() {
  return {
    options: OPTION_TYPES.map(([name, usage]) => optionType(name, usage)),
    defaults: Object.fromEntries([...defaults].map(([path, d]) => [path, { declaration: d.name, value: d.value }])),
    errors: errorsModel(),
    metrics: metricsModel(),
    api: entries.map((e) => ({
      entry: e.name,
      file: e.file,
      groups: e.groups.map((g) => ({ title: g.title, exports: g.names.map((n) => exportModel(n.name)) })),
    })),
  };
}

const HEADER = (what) =>
  `<!-- Generated by scripts/docs.mjs from ${what}. Do not edit: \`npm run docs\` writes it, and a test fails when it differs. -->`;
/** GitHub's heading anchor. */
const slug = (heading) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
const optionAnchor = (name) => `options.md#${slug(name)}`;
const optionNames = new Set(OPTION_TYPES.map(([n]) => n));
/** Option type names in a type's text linked to their section (outside code spans). */
const linkTypes = (text, page) =>
  text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/\b[A-Z][A-Za-z]+\b/g, (n) => (optionNames.has(n) ? `[${n}](${page === 'options' ? `#${slug(n)}` : optionAnchor(n)})` : n)),
    )
    .join('');

function optionsPage(m) {
  const lines = [
    HEADER('the option interfaces (their JSDoc) and the defaults declared once in `libs/mesh-client/src/config/defaults.ts`'),
    '',
    '# Options reference',
    '',
    'Every option the library takes: its type, its default and what it does. Options are checked once, when the',
    'application starts (module and client options) or before anything is sent (call options); a bad one',
    'fails start with a `MeshConfigError`, or the call with `invalid-request`, naming the field. Where a default',
    'says "none", the option is off or unset unless given. Nested options are listed under their parent',
    '(`concurrency.maxQueue`). The guides explain when to use them: [docs/guide](../guide/).',
    '',
    ...m.options.map((o) => `- [${o.name}](#${slug(o.name)}): ${o.usage}`),
    '',
  ];
  for (const o of m.options) {
    lines.push(`## ${o.name}`, '', o.usage, '', o.doc, '');
    if (o.extends?.length) lines.push(`Also takes every field of ${o.extends.map(code).join(', ')}.`, '');
    if (o.includes?.length)
      lines.push(`All of ${o.includes.map((e) => (optionNames.has(e) ? `[\`${e}\`](#${slug(e)})` : code(e))).join(', ')}, plus:`, '');
    if (o.picks) {
      lines.push('| field | documented at |', '|---|---|');
      for (const p of o.picks)
        lines.push(
          `| ${code(p.name)} | ${p.owner && optionNames.has(p.owner) ? `[\`${p.owner}.${p.name}\`](#${slug(p.owner)})` : (p.owner ?? '')} |`,
        );
      lines.push('');
    }
    for (const form of o.forms) {
      if (form.title) lines.push(`**${form.title}**`, '');
      lines.push('| option | type | default | what it does |', '|---|---|---|---|');
      for (const r of form.rows)
        lines.push(`| ${code(r.path + (r.optional ? '?' : ''))} | ${cell(code(r.type))} | ${cell(r.default)} | ${cell(r.doc)} |`);
      lines.push('');
    }
  }
  return lines.join('\n');
}

function errorsPage(m) {
  const e = m.errors;
  const lines = [
    HEADER("`STATUS_TABLE` and `MeshErrorCategory` (`libs/mesh-client/src/errors/error-category.ts`) and the error classes' JSDoc"),
    '',
    '# Errors reference',
    '',
    'A failed call reaches its subscriber as a `MeshClientError` (never anything else); invalid options throw a',
    '`MeshConfigError`. [The calls guide](../guide/calls-and-streams.md#when-a-call-fails) shows how to handle them.',
    '',
    '## Categories',
    '',
    e.intro,
    '',
    '| category | status codes | what it means, what to do |',
    '|---|---|---|',
    ...e.categories.map((c) => `| ${code(c.category)} | ${c.codes.join(', ') || 'none: decided by the client'} | ${cell(c.meaning)} |`),
    '',
    '## Status codes',
    '',
    'Every gRPC status code, its category, and whether the same request may succeed if sent again later',
    "(`retryable`: advice to the caller; automatic retries follow the policy's own `retryableCodes`,",
    'UNAVAILABLE by default). `STATUS_TABLE` in `@datapunk/mesh-client/advanced` is this table.',
    '',
    '| code | name | category | retryable |',
    '|---:|---|---|---|',
    ...e.codes.map((r) =>
      r.code === 0
        ? `| 0 | OK | (success: never an error) | |`
        : `| ${String(r.code)} | ${r.codeName} | ${code(r.category)} | ${r.retryable ? 'yes' : 'no'} |`,
    ),
    `| other | STATUS_n | ${code('unknown')} | no |`,
    '',
    e.classifyDoc,
    '',
  ];
  for (const c of e.classes) lines.push(...classSection(c, '##', 'errors'));
  return lines.join('\n');
}

function metricsPage(m) {
  const x = m.metrics;
  const lines = [
    HEADER(
      '`METRIC` (`libs/mesh-client/src/observability/metric-names.ts`) and the providers that declare each series (`observability/mesh-metrics.providers.ts`)',
    ),
    '',
    '# Metrics reference',
    '',
    'The Prometheus series of every mesh client (through `@willsoto/nestjs-prometheus`; created on the',
    "application's registry when the module starts, never at import). `metrics: false` on a client turns",
    'its series off. [The observability guide](../guide/observability.md) shows the dashboard and alerts built on them.',
    '',
    '## Series',
    '',
    '| series | type | labels | help |',
    '|---|---|---|---|',
    ...x.series.map((s) => `| ${code(s.name)} | ${s.type} | ${s.labels.map(code).join(', ')} | ${cell(s.help)} |`),
    '',
    ...x.series.filter((s) => s.buckets).map((s) => `Buckets of ${code(s.name)} (seconds): ${s.buckets.join(', ')}.`),
    '',
    '## Labels',
    '',
    '| label | value |',
    '|---|---|',
    ...x.labels.map((l) => `| ${code(l.label)} | ${cell(l.meaning)} |`),
    '',
    `\`grpc_type\` values: ${x.grpcTypes.map(code).join(', ')}. \`reason\` values: ${x.limitedReasons.map(code).join(', ')}.`,
    `\`mesh_client_circuit_state\` values: ${Object.entries(x.circuitStates)
      .map(([k, v]) => `${String(v)} ${k}`)
      .join(', ')}.`,
    `\`grpc_code\` values: the status names of [the errors reference](errors.md#status-codes), ${m.errors.codes.map((c) => c.codeName).join(', ')} (a code outside 0..16 counts as UNKNOWN).`,
    '',
  ];
  return lines.join('\n');
}

function classSection(c, level, page) {
  const lines = [`${level} ${c.name}`, '', `*class*${c.heritage.length ? ` ${c.heritage.map(code).join(', ')}` : ''}`, '', c.doc, ''];
  for (const ex of c.examples) lines.push('```ts', ex, '```', '');
  const fields = c.members.filter((mem) => mem.field);
  if (fields.length) {
    lines.push('| member | description |', '|---|---|');
    for (const f of fields) lines.push(`| ${cell(code(f.signatures[0]))} | ${cell(f.doc)} |`);
    lines.push('');
  }
  for (const member of c.members.filter((mem) => !mem.field)) {
    lines.push('```ts', ...member.signatures, '```', '');
    if (member.doc) lines.push(linkTypes(member.doc, page), '');
  }
  return lines;
}

function apiPage(m) {
  const lines = [
    HEADER('the exports of `libs/mesh-client/src/index.ts`, `advanced.ts` and `testing/index.ts` and their JSDoc'),
    '',
    '# API reference',
    '',
    'Everything the package exports, by entry point. Anything not listed here is internal.',
    '',
  ];
  for (const e of m.api) lines.push(`- [\`${e.entry}\`](#${slug(e.entry)}): ${e.groups.map((g) => g.title).join(', ')}`);
  lines.push('');
  const intro = {
    '@datapunk/mesh-client': 'The main entry: the module, clients, options, errors, the security context, health and plugins.',
    '@datapunk/mesh-client/advanced':
      "The parts the client's calls are built from, for pipelines of your own (say, around a grpc-js client you keep): the same code, with a narrower promise of stability than the main entry. See [resilience](../guide/resilience.md#composing-your-own-pipeline).",
    '@datapunk/mesh-client/testing':
      'Fakes of the services an application calls, for its tests: its own entry point, never loaded by the others. See [the testing guide](../guide/testing.md).',
  };
  for (const e of m.api) {
    lines.push(`## ${e.entry}`, '', intro[e.entry] ?? '', '');
    for (const g of e.groups) {
      lines.push(`### ${g.title}`, '', `${g.exports.map((x) => `[\`${x.name}\`](#${slug(x.name)})`).join(', ')}`, '');
      for (const x of g.exports) {
        if (x.kind === 'class') {
          lines.push(...classSection(x, '####', 'api'));
          continue;
        }
        lines.push(`#### ${x.name}`, '', `*${x.kind}*`, '', linkTypes(x.doc, 'api'), '');
        if (x.options) lines.push(`Every field, its default and what it does: [options reference](${optionAnchor(x.name)}).`, '');
        if (x.signatures) lines.push('```ts', ...x.signatures, '```', '');
        if (x.declaration) lines.push('```ts', x.declaration, '```', '');
        if (x.kind === 'const' && (x.type || x.value))
          lines.push('```ts', `const ${x.name}${x.type ? `: ${x.type}` : ''}${x.value ? ` = ${x.value}` : ''}`, '```', '');
        if (x.members?.length) {
          if (x.heritage?.length) lines.push(`${x.heritage.map(code).join(', ')}`, '');
          lines.push('| member | type | description |', '|---|---|---|');
          for (const mem of x.members) lines.push(`| ${code(mem.name)} | ${cell(code(mem.type))} | ${cell(mem.doc)} |`);
          lines.push('');
        }
        for (const ex of x.examples) lines.push('```ts', ex, '```', '');
      }
    }
  }
  return lines.join('\n');
}

function pages(m = model()) {
  const end = (text) => `${text.replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
  return new Map([
    [`${OUT}/options.md`, end(optionsPage(m))],
    [`${OUT}/errors.md`, end(errorsPage(m))],
    [`${OUT}/metrics.md`, end(metricsPage(m))],
    [`${OUT}/api.md`, end(apiPage(m))],
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = process.argv[2];
  const m = model();
  if (mode === '--json') {
    const out = { model: m, pages: Object.fromEntries(pages(m)) };
    process.stdout.write(`${JSON.stringify(out, (_k, v) => (v === undefined ? null : v), 2)}\n`);
  } else {
    const differ = [];
    for (const [path, text] of pages(m)) {
      const file = join(root, path);
      const same = existsSync(file) && readFileSync(file, 'utf8') === text;
      if (same) continue;
      differ.push(path);
      if (mode !== '--check') {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
    }
    if (mode === '--check') {
      if (differ.length) {
        process.stderr.write(`docs: ${differ.join(', ')} differ from what the code declares: run \`npm run docs\`\n`);
        process.exitCode = 1;
      } else process.stdout.write('docs: the reference pages are what the code declares\n');
    } else process.stdout.write(differ.length ? `docs: wrote ${differ.join(', ')}\n` : 'docs: the reference pages were up to date\n');
  }
}
