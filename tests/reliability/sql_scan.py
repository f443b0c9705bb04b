"""Find SQL built from non-constant parts in planwatch: the calls `execute`, `executemany`, `sql`, `query`
whose SQL argument is an f-string, a `+` / `%` concatenation or a `.format()` call, followed through
local variables and through same-module functions that return such strings.

Each non-constant part is reported as (module, source text of the expression). test_security.py
compares them with an allow-list of parts known to come from code (table names from constants,
column positions, quoted catalog identifiers), never from a file's contents.
"""

from __future__ import annotations

import ast
from pathlib import Path

SQL_CALLS = {"execute", "executemany", "sql", "query"}


def _assigned(scope: ast.AST, name: str) -> list[ast.AST]:
    body = scope.body if isinstance(scope, ast.Module) else list(ast.walk(scope))
    return [n.value for n in body if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value is not None
            and any(isinstance(t, ast.Name) and t.id == name
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))]


def _parts(node: ast.AST, scope: ast.AST, module: ast.Module, funcs: dict[str, ast.FunctionDef],
           seen: set[int]) -> list[ast.AST]:
    """The non-constant expressions that `node` (an SQL argument) is built from."""
    if id(node) in seen:
        return []
    seen.add(id(node))

    def rec(n: ast.AST, sc: ast.AST = scope) -> list[ast.AST]:
        return _parts(n, sc, module, funcs, seen)

    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.JoinedStr):
        return [p for v in node.values if isinstance(v, ast.FormattedValue) for p in rec(v.value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return rec(node.left) + rec(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return [p for a in [*node.args, *(k.value for k in node.keywords)] for p in rec(a)]
    if isinstance(node, ast.Name):
        local = _assigned(scope, node.id) if scope is not module else []
        if local:
            return [p for value in local for p in rec(value)]
        constant = _assigned(module, node.id)  # a module constant: what it is built from
        if constant:
            return [p for value in constant for p in rec(value, module)]
        return [node]  # a parameter, a loop variable, a name from elsewhere
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in funcs:
        fn = funcs[node.func.id]
        returns = [n.value for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None]
        return [p for value in returns for p in rec(value, fn)]
    return [node]


def scan(package: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = path.relative_to(package.parent).as_posix()
        funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for scope in [tree, *scopes]:
            for call in ast.walk(scope):
                if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in SQL_CALLS and call.args):
                    continue
                if scope is tree and any(call in ast.walk(s) for s in scopes):
                    continue  # reported with its function, where its local variables are known
                for part in _parts(call.args[0], scope, tree, funcs, set()):
                    found.append((module, ast.unparse(part)))
    return sorted(set(found))


if __name__ == "__main__":
    for item in scan(Path(__file__).resolve().parents[2] / "planwatch"):
        print(item)
