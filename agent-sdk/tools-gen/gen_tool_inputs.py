#!/usr/bin/env python3
"""Generate agent-sdk/src/tool_inputs/generated.rs from the CLI's `sdk-tools.d.ts`.

Usage (from the repository root, then format):
    python3 agent-sdk/tools-gen/gen_tool_inputs.py \
        <node_modules>/@anthropic-ai/claude-code/sdk-tools.d.ts \
        agent-sdk/src/tool_inputs/generated.rs 2.1.330
    cargo fmt --all

Reads every interface named in the `ToolInputSchemas` union (except the open
`McpInput`) and writes one Rust struct per interface, with a nested struct per
inline object type. Mapping: string -> String, number -> f64, boolean -> bool,
string-literal unions -> String (the allowed values go in the doc), `X[]` ->
Vec<X>, `{[k: string]: unknown}` -> Map, anything else -> serde_json::Value.
Every struct keeps unknown fields in a flattened `extra` map, so a typed value
turned back into JSON loses nothing the CLI sent.
"""
import re
import sys

# Tool names the CLI uses for an interface, when not simply the name minus `Input`.
TOOL_NAMES = {
    "AgentInput": ["Agent", "Task"],
    "FileEditInput": ["Edit"],
    "FileReadInput": ["Read"],
    "FileWriteInput": ["Write"],
    "TaskStopInput": ["TaskStop", "KillShell"],
    "ListMcpResourcesInput": ["ListMcpResourcesTool"],
    "ReadMcpResourceInput": ["ReadMcpResourceTool"],
    "ReadMcpResourceDirInput": ["ReadMcpResourceDirTool"],
}
SKIP = {"McpInput", "ToolOutputSchemas"}
RUST_KEYWORDS = {"type", "match", "mod", "ref", "move", "loop", "fn", "use", "impl", "in", "as", "async", "await", "continue", "final", "override"}


def tokenize(src):
    token_re = re.compile(r"""\s+|/\*\*.*?\*/|/\*.*?\*/|//[^\n]*|"(?:[^"\\]|\\.)*"|\.\.\.|[A-Za-z_$][A-Za-z0-9_$]*|-?\d+(?:\.\d+)?|[{}\[\]();:,|?<>=&]""", re.S)
    pos, out = 0, []
    while pos < len(src):
        m = token_re.match(src, pos)
        if not m:
            raise SystemExit(f"cannot tokenize at {src[pos:pos+40]!r}")
        tok = m.group(0)
        pos = m.end()
        if tok.isspace() or (tok.startswith("/*") and not tok.startswith("/**")) or tok.startswith("//"):
            continue
        out.append(tok)
    return out


class Parser:
    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else None

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, tok):
        got = self.next()
        if got != tok:
            raise SystemExit(f"expected {tok!r}, got {got!r} near {self.t[self.i-5:self.i+5]}")

    def doc(self):
        docs = []
        while self.peek() and self.peek().startswith("/**"):
            docs.append(clean_doc(self.next()))
        return "\n".join(d for d in docs if d)

    # type := union ; union := '|'? postfix ('|' postfix)*
    def type_(self):
        if self.peek() == "|":
            self.next()
        alts = [self.postfix()]
        while self.peek() == "|":
            self.next()
            alts.append(self.postfix())
        return alts[0] if len(alts) == 1 else ("union", alts)

    def postfix(self):
        base = self.primary()
        while self.peek() == "[" and self.peek(1) == "]":
            self.next(); self.next()
            base = ("array", base)
        return base

    def primary(self):
        tok = self.next()
        if tok == "{":
            return ("object", self.members("}"))
        if tok == "(":
            inner = self.type_()
            self.expect(")")
            return inner
        if tok == "[":  # tuple
            depth = 1
            while depth:
                t = self.next()
                depth += {"[": 1, "]": -1}.get(t, 0)
            return ("unknown",)
        if tok.startswith('"'):
            return ("literal", tok[1:-1])
        if tok in ("string", "number", "boolean", "unknown", "null", "true", "false", "any"):
            return ("prim", tok)
        return ("ref", tok)

    def members(self, close):
        props, index_sig = [], False
        while self.peek() != close:
            doc = self.doc()
            if self.peek() == close:
                break
            if self.peek() == "[":  # index signature [k: string]: unknown;
                while self.next() != "]":
                    pass
                self.expect(":")
                self.type_()
                index_sig = True
            else:
                name = self.next()
                if name.startswith('"'):
                    name = name[1:-1]
                optional = False
                if self.peek() == "?":
                    self.next()
                    optional = True
                self.expect(":")
                props.append({"name": name, "optional": optional, "doc": doc, "type": self.type_()})
            if self.peek() in (";", ","):
                self.next()
        self.expect(close)
        return {"props": props, "index": index_sig}


def clean_doc(raw):
    lines = raw[3:-2].split("\n")
    out = [re.sub(r"^\s*\* ?", "", l).rstrip() for l in lines]
    text = "\n".join(out).strip()
    return text


def pascal(name):
    parts = re.split(r"[^A-Za-z0-9]+", name)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return out or "Field"


def rust_field(name):
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    snake = re.sub(r"[^a-z0-9_]+", "_", snake).strip("_")
    if not snake:
        snake = "field"
    if snake[0].isdigit():
        snake = "n" + snake
    if snake in RUST_KEYWORDS:
        snake = "r#" + snake
    if name.startswith("-"):
        snake = "flag_" + snake
    return snake


class Gen:
    def __init__(self):
        self.structs = []  # rendered

    def rust_type(self, ty, owner, field):
        kind = ty[0]
        if kind == "prim":
            return {"string": "String", "number": "f64", "boolean": "bool", "true": "bool", "false": "bool"}.get(ty[1], "serde_json::Value"), None
        if kind == "literal":
            return "String", [ty[1]]
        if kind == "array":
            inner, _ = self.rust_type(ty[1], owner, field)
            return f"Vec<{inner}>", None
        if kind == "object":
            if not ty[1]["props"]:
                return "serde_json::Map<String, serde_json::Value>", None
            name = owner + pascal(field)
            self.struct(name, ty[1], f"The `{field}` object of [`{owner}`].", None)
            return name, None
        if kind == "union":
            alts = ty[1]
            non_null = [a for a in alts if a != ("prim", "null")]
            if all(a[0] == "literal" for a in non_null):
                return "String", [a[1] for a in non_null]
            if len(non_null) == 1:
                return self.rust_type(non_null[0], owner, field)
            return "serde_json::Value", None
        return "serde_json::Value", None

    def struct(self, name, obj, doc, tool_names):
        fields = []
        for p in obj["props"]:
            rty, allowed = self.rust_type(p["type"], name, p["name"])
            fname = rust_field(p["name"])
            doc_lines = p["doc"].split("\n") if p["doc"] else [f"The `{p['name']}` field."]
            if allowed:
                doc_lines += ["", "One of: " + ", ".join(f"`{a}`" for a in allowed) + "."]
            attrs = []
            wire = p["name"]
            if fname.removeprefix("r#") != wire:
                attrs.append(f'rename = "{wire}"')
            if p["optional"]:
                rty = f"Option<{rty}>"
                attrs.append('default, skip_serializing_if = "Option::is_none"')
            fields.append((fname, rty, attrs, doc_lines))
        lines = []
        for d in doc.split("\n"):
            lines.append(f"/// {d}".rstrip())
        lines.append("#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]")
        lines.append("#[non_exhaustive]")
        lines.append(f"pub struct {name} {{")
        for fname, rty, attrs, doc_lines in fields:
            for d in doc_lines:
                lines.append(f"    /// {escape_doc(d)}".rstrip())
            if attrs:
                lines.append(f"    #[serde({', '.join(attrs)})]")
            lines.append(f"    pub {fname}: {rty},")
        lines.append("    /// Fields this version of the SDK does not know, kept as sent.")
        lines.append("    #[serde(flatten)]")
        lines.append("    pub extra: serde_json::Map<String, serde_json::Value>,")
        lines.append("}")
        if tool_names:
            names = ", ".join(f'"{n}"' for n in tool_names)
            lines.append("")
            lines.append(f"impl ToolInput for {name} {{")
            lines.append(f"    const TOOL_NAMES: &'static [&'static str] = &[{names}];")
            lines.append("}")
        self.structs.append("\n".join(lines))


def escape_doc(line):
    # rustdoc treats [x] as a link and <x> as HTML; keep the text literal.
    line = line.replace("[", "\\[").replace("]", "\\]")
    line = line.replace("<", "&lt;").replace(">", "&gt;")
    return line


def main():
    src_path, out_path, version = sys.argv[1], sys.argv[2], sys.argv[3]
    src = open(src_path, encoding="utf-8").read()
    p = Parser(tokenize(src))
    union, interfaces = [], {}
    while p.peek() is not None:
        doc = p.doc()
        if p.peek() is None:
            break
        tok = p.next()
        if tok != "export":
            continue
        kind, name = p.next(), p.next()
        if kind == "type":
            p.expect("=")
            ty = p.type_()
            if name == "ToolInputSchemas":
                union = [a[1] for a in ty[1] if a[0] == "ref"]
        elif kind == "interface":
            p.expect("{")
            interfaces[name] = (doc, p.members("}"))
        if p.peek() == ";":
            p.next()
    gen = Gen()
    for name in union:
        if name in SKIP or name not in interfaces:
            continue
        doc, obj = interfaces[name]
        tools = TOOL_NAMES.get(name, [name.removesuffix("Input")])
        head = doc or f"Input of the built-in `{tools[0]}` tool."
        if not doc:
            head = f"Input of the built-in `{tools[0]}` tool."
        head += "\n\nTool name" + ("s" if len(tools) > 1 else "") + " on the wire: " + ", ".join(f"`{t}`" for t in tools) + "."
        gen.struct(name, obj, head, tools)
    header = f"""// @generated by agent-sdk/tools-gen/gen_tool_inputs.py from sdk-tools.d.ts of
// @anthropic-ai/claude-code {version}. Do not edit by hand: change the generator and rerun it.

#![allow(clippy::doc_markdown)]

use serde::{{Deserialize, Serialize}};

use super::ToolInput;
"""
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(header + "\n" + "\n\n".join(gen.structs) + "\n")


if __name__ == "__main__":
    main()
