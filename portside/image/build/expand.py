"""Docker's word processing for instructions that expand variables (ENV, ARG, COPY, WORKDIR, LABEL, ...).

``$NAME``, ``${NAME}``, ``${NAME:-default}``, ``${NAME:+alternative}`` (and the forms without ``:``) are expanded
outside single quotes; quotes are removed; the escape character protects the next character.  RUN, CMD and
ENTRYPOINT are left to the container's shell, as in docker.
"""

from __future__ import annotations

from portside.image.build.dockerfile import Instruction

NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class Lexer:
    def __init__(self, text: str, env: dict[str, str], escape: str, inst: Instruction) -> None:
        self.text, self.env, self.escape, self.inst = text, env, escape, inst
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    def words(self, split: bool) -> list[str]:
        out, word, started = [], [], False
        while self.pos < len(self.text):
            ch = self.take()
            if split and ch.isspace():
                if started:
                    out.append("".join(word))
                word, started = [], False
                continue
            started = True
            if ch == "'":
                word.append(self.until("'"))
            elif ch == '"':
                word.append(self.double_quoted())
            elif ch == self.escape and self.peek():
                word.append(self.take())
            elif ch == "$":
                word.append(self.variable())
            else:
                word.append(ch)
        if started:
            out.append("".join(word))
        return out

    def until(self, end: str) -> str:
        start = self.text.find(end, self.pos)
        if start < 0:
            raise self.inst.error(f"{self.inst.cmd}: unmatched quote {end} in {self.text!r}")
        chunk, self.pos = self.text[self.pos:start], start + 1
        return chunk

    def double_quoted(self) -> str:
        out = []
        while True:
            ch = self.take()
            if ch == "":
                raise self.inst.error(f"{self.inst.cmd}: unmatched quote \" in {self.text!r}")
            if ch == '"':
                return "".join(out)
            if ch == self.escape and self.peek() in ('"', "$", self.escape):
                out.append(self.take())
            elif ch == "$":
                out.append(self.variable())
            else:
                out.append(ch)

    def variable(self) -> str:
        if self.peek() == "{":
            self.take()
            return self.braced()
        name = self.name()
        return self.env.get(name, "") if name else "$"

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in NAME_CHARS:
            self.pos += 1
        return self.text[start:self.pos]

    def braced(self) -> str:
        name = self.name()
        if not name:
            raise self.inst.error(f"{self.inst.cmd}: bad substitution in {self.text!r}")
        op = self.take()
        if op == "}":
            return self.env.get(name, "")
        colon = op == ":"
        if colon:
            op = self.take()
        if op not in "-+" or not op:
            raise self.inst.error(f"{self.inst.cmd}: unsupported modifier in ${{{name}...}} of {self.text!r}")
        word = self.nested_word()
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if op == "-":
            return value if is_set else word
        return word if is_set else ""

    def nested_word(self) -> str:
        depth, start = 0, self.pos
        while self.pos < len(self.text):
            ch = self.take()
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    inner = self.text[start:self.pos - 1]
                    return "".join(Lexer(inner, self.env, self.escape, self.inst).words(split=False))
                depth -= 1
        raise self.inst.error(f"{self.inst.cmd}: missing '}}' in {self.text!r}")


def words(inst: Instruction, text: str, env: dict[str, str], escape: str) -> list[str]:
    """Whitespace-separated words, expanded and unquoted (COPY sources, EXPOSE ports, ENV pairs...)."""
    return Lexer(text, env, escape, inst).words(split=True)


def word(inst: Instruction, text: str, env: dict[str, str], escape: str) -> str:
    """The whole text as one expanded word (WORKDIR, USER, STOPSIGNAL, FROM's image)."""
    return "".join(Lexer(text, env, escape, inst).words(split=False))


def pairs(inst: Instruction, env: dict[str, str], escape: str) -> list[tuple[str, str]]:
    """``KEY=VALUE ...`` pairs, or docker's legacy ``KEY VALUE`` form (ENV and LABEL)."""
    first = inst.args.split(None, 1)[0]
    if "=" not in first:
        rest = inst.args[len(first):].strip()
        if not rest:
            raise inst.error(f"{inst.cmd} {first}: missing a value (write {first}=VALUE)")
        return [(first, word(inst, rest, env, escape))]
    out = []
    for item in words(inst, inst.args, env, escape):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise inst.error(f"{inst.cmd}: expected KEY=VALUE, got {item!r}")
        out.append((key, value))
    return out
