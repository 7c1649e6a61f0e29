#!/usr/bin/python3
"""Generates the Python gRPC modules of the HashHub SDK from protos/ into hashhub/v1/ (git-ignored).

The protos carry google.api.http rules for the hub's JSON transcoding. A gRPC client has no use for them, and
compiling them would need googleapis' annotations.proto, so this script compiles a copy of protos/ with that
import and every `option (google.api.http) = {...};` block stripped.

It runs Debian's protoc (package protobuf-compiler) with Debian's grpc_python_plugin (protobuf-compiler-grpc):
their versions are those of the runtime packages python3-protobuf and python3-grpcio, so the generated code
matches the runtime. (python3-grpc-tools bundles protoc 3.5, which predates proto3 `optional` fields, used by
the contract.)

    /usr/bin/python3 generate.py
"""

import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = HERE.parent.parent / "protos"
OUT = HERE  # protoc writes hashhub/v1/*_pb2.py, inside this SDK's own hashhub package.

_ANNOTATIONS_IMPORT = re.compile(r'^[ \t]*import[ \t]+"google/api/annotations\.proto"[ \t]*;[ \t]*\r?\n?', re.MULTILINE)
_HTTP_OPTION = re.compile(r"option\s*\(\s*google\.api\.http\s*\)\s*=\s*\{")


def strip_http_rules(text: str) -> str:
    """Returns the proto source without the annotations import and the google.api.http option blocks.

    Braces inside string literals (route templates such as "/v1/signals/{signal_id}") and comments do not
    count when finding the end of a block, and blocks may nest (additional_bindings { ... }).
    """
    text = _ANNOTATIONS_IMPORT.sub("", text)
    out = []
    i = 0
    while i < len(text):
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = len(text) if end < 0 else end + 2
            out.append(text[i:end])
            i = end
            continue
        if text[i] in "\"'":
            end = _skip_string(text, i)
            out.append(text[i:end])
            i = end
            continue
        match = _HTTP_OPTION.match(text, i)
        if match:
            i = _skip_block(text, match.end())
            # Drop the statement's `;` and, when the option stood on lines of its own, those lines.
            semicolon = re.compile(r"\s*;").match(text, i)
            if semicolon is None:
                raise ValueError("a google.api.http option block is not followed by ';'")
            i = semicolon.end()
            joined = "".join(out)
            line_start = joined.rfind("\n") + 1
            if joined[line_start:].strip() == "":
                out = [joined[:line_start]]
                rest = re.compile(r"[ \t]*\r?\n").match(text, i)
                if rest:
                    i = rest.end()
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _skip_string(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ValueError("unterminated string literal")


def _skip_block(text: str, i: int) -> int:
    """From just after an opening brace, returns the index just after its matching closing brace."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unterminated google.api.http option block")


def generate(protos: pathlib.Path = PROTOS, out: pathlib.Path = OUT) -> None:
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin")
    if not protoc or not plugin:
        sys.exit("generate.py needs protoc and grpc_python_plugin: apt-get install protobuf-compiler protobuf-compiler-grpc")
    target = out / "hashhub" / "v1"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="hashhub-protos-") as tmp:
        sources = []
        for proto in sorted(protos.rglob("*.proto")):
            relative = proto.relative_to(protos)
            copy = pathlib.Path(tmp) / relative
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(strip_http_rules(proto.read_text(encoding="utf-8")), encoding="utf-8")
            sources.append(str(relative))
        subprocess.run(
            [protoc, f"-I{tmp}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
             f"--plugin=protoc-gen-grpc_python={plugin}", *sources],
            check=True)
    (target / "__init__.py").write_text('"""Generated from protos/hashhub/v1 by generate.py; do not edit."""\n')


if __name__ == "__main__":
    generate()
    print(f"generated {OUT / 'hashhub' / 'v1'}")
